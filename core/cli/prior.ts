/**
 * `flowloop prior --model <dir> --candidates <candidates.jsonl> [--catalogue <id2name.txt>] [--engine tfjs|onnx] [--device …] --out <prior.csv>`
 * Live prior (docs/methods.md §B3): the base model's top-1 among each user's candidates, written in the reference
 * CSV format `id,generate,real`; prints its HR@1. Names come from the candidates' `cans_names`, or from
 * `--catalogue` (an `id::name` file) when given. Exit codes as `flowloop score`.
 */
import { resolve } from 'node:path';
import { candidatesCommand, STDIO, type CliIo } from './score';

export async function main(argv: string[], io: CliIo = STDIO): Promise<number> {
  return candidatesCommand('prior', argv, io, async ({ flags, rows, scorer }) => {
    const { readId2Name } = await import('../data/sequential');
    const { computePriors, priorCsv, priorHits } = await import('../models/prior');
    const catalogue = typeof flags.catalogue === 'string' ? readId2Name(resolve(flags.catalogue)) : undefined;
    const input = catalogue ? rows.map(({ cansNames: _n, ...r }) => r) : rows;
    const pri = (await computePriors(scorer, input, catalogue)).map(({ id, generate, real }) => ({ id, generate, real }));
    const h = priorHits(pri);
    return { text: priorCsv(pri), summary: `${scorer.description}: prior HR@1 = ${h.hits}/${h.total} = ${h.hr1.toFixed(4)}` };
  });
}
