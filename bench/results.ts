/**
 * The committed record of a benchmark run: every bench writes `bench/results/<YYYY-MM-DD>-<name>.json`
 * (the commit, the machine, its CPU, the load average before and after, node's and the peer's versions, the protocol,
 * min/median/max of each figure and the ratios) and prints the same object as its last stdout line
 * (bench/run.mjs reads that line for its table). The README quotes these files, never an ignored one.
 *
 * These machines are shared and noisy: a figure is only ever compared with its peer measured in the
 * same run, in alternating rounds, and reported with its spread and the load average.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';

export const RESULTS_DIR = resolve(__dirname, 'results');

/** min / median / max of a sample (the median of an even count is the mean of the middle two). */
export interface Spread {
  min: number;
  median: number;
  max: number;
  n: number;
}

export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Spread of a sample, rounded to `digits` decimals. */
export function spread(xs: readonly number[], digits = 2): Spread {
  const r = (x: number) => Number(x.toFixed(digits));
  return { min: r(Math.min(...xs)), median: r(median(xs)), max: r(Math.max(...xs)), n: xs.length };
}

/** "12.3 (10.1–15.0)": median with its range, for summaries. */
export function fmtSpread(s: Spread, unit = ''): string {
  return `${s.median}${unit} (${s.min}–${s.max}${unit})`;
}

/** 1-, 5- and 15-minute load averages, one decimal. */
export function loadAverage(): number[] {
  return loadavg().map((x) => Number(x.toFixed(2)));
}

/** What the figures were taken on. */
export function machine(): Record<string, unknown> {
  const c = cpus();
  return {
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    kernel: release(),
    node: process.versions.node,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** The commit the figures were taken on (with `+changes` when the tree differed from it), or 'unknown'. */
export function sourceCommit(): string {
  try {
    const git = (...a: string[]) => execFileSync('git', a, { cwd: resolve(__dirname, '..'), encoding: 'utf8' }).trim();
    return git('rev-parse', 'HEAD') + (git('status', '--porcelain', '--untracked-files=no') ? '+changes' : '');
  } catch {
    return 'unknown';
  }
}

/** Today's date in UTC, YYYY-MM-DD. */
export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/**
 * Writes bench/results/<date>-<name>.json with the machine and the load before/after, and prints the
 * same object as one JSON line (the last line of the bench's stdout). Returns the file's path.
 */
export function recordResult(name: string, loadBefore: number[], result: Record<string, unknown>): string {
  const record = {
    bench: name,
    date: new Date().toISOString(),
    commit: sourceCommit(),
    machine: machine(),
    loadAverage: { before: loadBefore, after: loadAverage(), note: '1, 5 and 15 minute load averages of the whole machine' },
    ...result,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${today()}-${name}.json`);
  writeFileSync(file, JSON.stringify(record, null, 1) + '\n');
  console.log(JSON.stringify({ ...record, file: file.slice(resolve(__dirname, '..').length + 1) }));
  return file;
}
