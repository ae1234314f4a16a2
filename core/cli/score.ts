/**
 * `flowloop score --model <dir> --candidates <candidates.jsonl> [--engine tfjs|onnx] [--device auto|cpu|wasm|gpu] --out <file.jsonl>`
 * Scores each user's candidate list with a sequential model: `dir` holds manifest.json +
 * weights.bin (imported PyTorch weights or a Flowloop checkpoint; engine tfjs) and/or model.onnx
 * (engine onnx). Writes one line per user: {"id": …, "scores": [… aligned with "cans"]}.
 * Exit codes: 0 ok, 2 bad usage or bad input (`where: message`, no stack), 1 unexpected failure.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LocatedError } from '../experiment/context';
import { UsageError } from './args';
import { commandUsage, parseCommandArgs } from './commands';
import type { CandidateRow } from '../data/candidates';
import type { Scorer } from '../models/scorer';

/** Common option checks of `score` and `prior`. */
export function modelOptions(flags: Record<string, string | boolean | undefined>, required: string[]) {
  for (const k of required) if (typeof flags[k] !== 'string') throw new UsageError(`missing --${k}`);
  const engine = flags.engine as string | undefined;
  if (engine !== undefined && engine !== 'tfjs' && engine !== 'onnx')
    throw new UsageError(`--engine must be tfjs or onnx (got "${engine}")`);
  const device = (flags.device as string | undefined) ?? 'auto';
  if (!['auto', 'cpu', 'wasm', 'gpu'].includes(device)) throw new UsageError(`--device must be auto, cpu, wasm or gpu (got "${device}")`);
  return { engine: engine as 'tfjs' | 'onnx' | undefined, device: device as 'auto' | 'cpu' | 'wasm' | 'gpu' };
}

/** Write a file atomically (temp + rename); a failure is located at the output path. */
export function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (e) {
    throw new LocatedError(
      `cannot write output: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (folder ${dirname(file)})`,
      file,
    );
  }
}

/** Where a subcommand prints (tests pass their own). */
export interface CliIo {
  out(s: string): void;
  err(s: string): void;
}
export const STDIO: CliIo = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) };

/** Print an error the CLI way and return its exit code. */
export function reportError(e: unknown, usage: string, io: CliIo = STDIO): number {
  if (e instanceof UsageError) {
    io.err(`${e.message}\n${usage}\n`);
    return 2;
  }
  if (e instanceof LocatedError) {
    io.err(`${e.where}${e.path ? ` (${e.path})` : ''}: ${e.message}\n`);
    return 2;
  }
  io.err(process.env.FLOWLOOP_DEBUG ? `${(e as Error).stack}\n` : `error: ${(e as Error).message ?? String(e)}\n`);
  return 1;
}

/** Every history and candidate id must be an item of the model: else a located error at the candidates file. */
export function checkRowsFit(rows: { id: number; seq: number[]; cans: number[] }[], numItems: number, file: string): void {
  for (const r of rows) {
    const bad = [...r.seq, ...r.cans].find((id) => id < 0 || id >= numItems);
    if (bad !== undefined) throw new LocatedError(`user ${r.id}: item id ${bad} outside the model's 0..${numItems - 1}`, file);
  }
}

/** What a candidates command hands its body: the flags, the candidate rows and their file, the loaded model. */
export interface CandidatesRun {
  flags: Record<string, string | boolean | undefined>;
  rows: CandidateRow[];
  candFile: string;
  scorer: Scorer;
}

/**
 * The frame `score` and `prior` share: parse the command's flags (`--help` prints the usage), read the candidates,
 * load the model (`--engine`, `--device`), check every id fits it, run `body` (the model is disposed after), write
 * the text it returns atomically to `--out` and print its summary. Errors as `reportError`.
 */
export async function candidatesCommand(
  name: 'score' | 'prior',
  argv: string[],
  io: CliIo,
  body: (run: CandidatesRun) => Promise<{ text: string; summary: string }>,
): Promise<number> {
  const usage = commandUsage(name);
  try {
    const { flags, positional } = parseCommandArgs(name, argv);
    if (flags.help) {
      io.out(usage + '\n');
      return 0;
    }
    if (positional.length) throw new UsageError(`unexpected argument "${positional[0]}"`);
    const { engine, device } = modelOptions(flags, ['model', 'candidates', 'out']);
    const { readCandidates } = await import('../data/candidates');
    const { loadScorer } = await import('../models/load');
    const candFile = resolve(flags.candidates as string);
    const rows = readCandidates(candFile);
    const scorer = await loadScorer(resolve(flags.model as string), { engine, device });
    let result: { text: string; summary: string };
    try {
      checkRowsFit(rows, scorer.numItems, candFile);
      result = await body({ flags, rows, candFile, scorer });
    } finally {
      scorer.dispose();
    }
    const out = resolve(flags.out as string);
    writeAtomic(out, result.text);
    io.out(`${result.summary}\nwrote ${out}\n`);
    return 0;
  } catch (e) {
    return reportError(e, usage, io);
  }
}

export async function main(argv: string[], io: CliIo = STDIO): Promise<number> {
  return candidatesCommand('score', argv, io, async ({ rows, scorer }) => {
    const { argmax } = await import('../models/prior');
    const scores = await scorer.scoreCandidates(
      rows.map((r) => r.seq),
      rows.map((r) => r.cans),
    );
    const hits = rows.filter((r, b) => r.cans[argmax(scores[b])] === r.next).length;
    return {
      text: rows.map((r, b) => JSON.stringify({ id: r.id, scores: Array.from(scores[b]) })).join('\n') + '\n',
      summary: `${scorer.description}: scored ${rows.length} users × ${rows[0]?.cans.length ?? 0} candidates; top-1 = next item for ${hits}/${rows.length}`,
    };
  });
}
