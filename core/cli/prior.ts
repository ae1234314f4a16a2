/**
 * `flowloop prior --model <dir> --candidates <candidates.jsonl> [--catalogue <id2name.txt>] [--engine tfjs|onnx] [--device …] --out <prior.csv>`
 * Live prior (docs/methods.md §B3): the base model's top-1 among each user's candidates, written in the reference
 * CSV format `id,generate,real`; prints its HR@1. Names come from the candidates' `cans_names`, or from
 * `--catalogue` (an `id::name` file) when given. Exit codes as `flowloop score`.
 */
import { resolve } from 'node:path';
import { UsageError } from './args';
import { commandUsage, parseCommandArgs } from './commands';
import { checkRowsFit, modelOptions, reportError, STDIO, writeAtomic, type CliIo } from './score';

export const PRIOR_USAGE = commandUsage('prior');

export async function main(argv: string[], io: CliIo = STDIO): Promise<number> {
  try {
    const { flags, positional } = parseCommandArgs('prior', argv);
    if (flags.help) {
      io.out(PRIOR_USAGE + '\n');
      return 0;
    }
    if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}"`);
    const { engine, device } = modelOptions(flags, ['model', 'candidates', 'out']);
    const { readCandidates } = await import('../data/candidates');
    const { readId2Name } = await import('../data/sequential');
    const { loadScorer } = await import('../models/load');
    const { computePriors, priorCsv, priorHits } = await import('../models/prior');
    const candFile = resolve(flags.candidates as string);
    const rows = readCandidates(candFile);
    const catalogue = typeof flags.catalogue === 'string' ? readId2Name(resolve(flags.catalogue)) : undefined;
    const input = catalogue ? rows.map(({ cansNames: _n, ...r }) => r) : rows;
    const scorer = await loadScorer(resolve(flags.model as string), { engine, device });
    let pri;
    try {
      checkRowsFit(rows, scorer.numItems, candFile);
      pri = (await computePriors(scorer, input, catalogue)).map(({ id, generate, real }) => ({ id, generate, real }));
    } finally {
      scorer.dispose();
    }
    const out = resolve(flags.out as string);
    writeAtomic(out, priorCsv(pri));
    const h = priorHits(pri);
    io.out(`${scorer.description}: prior HR@1 = ${h.hits}/${h.total} = ${h.hr1.toFixed(4)}\nwrote ${out}\n`);
    return 0;
  } catch (e) {
    return reportError(e, PRIOR_USAGE, io);
  }
}
