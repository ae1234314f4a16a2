/**
 * `flowloop metrics --recommendations <file.jsonl> --dataset <amazon dataset dir> [--split test|valid]`
 *: scores recommendation lists from any tool the same way. Each line of the file is
 * `{"row": <0-based row of test.csv>, "titles": [10 titles]}`; prints ONE JSON object with
 * hr@1..hr@10, ndcg@1..ndcg@10, dgu, mgu, entropy, ttr, distinct and rows (docs/methods.md §A9).
 * Bad input: one `file:line: message` per problem on stderr, exit code 2, no stack trace.
 */
import { existsSync, statSync } from 'node:fs';
import { loadAmazon } from '../data/amazon';
import { LocatedError, eachLine, where } from '../data/lines';
import { type Recommendation, scoreRecommendations } from '../metrics/score';
import { commandUsage, parseCommandArgs } from './commands';

export const USAGE = commandUsage('metrics');

const MAX_REPORTED = 50;

/**
 * Reads a recommendations JSONL file. Returns the rows and every problem found (located `file:line`):
 * invalid JSON, a missing/negative/non-integer `row`, `titles` not a non-empty array of strings, a row
 * outside `0..rowCount-1`, a row given twice. Blank lines are skipped.
 */
export function readRecommendations(file: string, rowCount: number): { recs: Recommendation[]; errors: LocatedError[] } {
  const recs: Recommendation[] = [];
  const errors: LocatedError[] = [];
  const seen = new Map<number, number>();
  eachLine(file, (line, lineNo) => {
    if (line.trim() === '') return;
    const at = where(file, lineNo);
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      errors.push(new LocatedError(`invalid JSON: ${(e as Error).message}`, at));
      return;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      errors.push(new LocatedError('expected an object {"row": n, "titles": [...]}', at));
      return;
    }
    const o = v as Record<string, unknown>;
    const row = o.row;
    if (typeof row !== 'number' || !Number.isInteger(row) || row < 0) {
      errors.push(new LocatedError(`"row" must be a non-negative integer, got ${JSON.stringify(row)}`, at, '$.row'));
      return;
    }
    if (row >= rowCount) {
      errors.push(new LocatedError(`"row" ${row} is outside the split's rows 0..${rowCount - 1}`, at, '$.row'));
      return;
    }
    const titles = o.titles;
    if (!Array.isArray(titles) || titles.length === 0) {
      errors.push(new LocatedError('"titles" must be a non-empty array of strings', at, '$.titles'));
      return;
    }
    const bad = titles.findIndex((t) => typeof t !== 'string');
    if (bad >= 0) {
      errors.push(new LocatedError(`"titles"[${bad}] must be a string, got ${JSON.stringify(titles[bad])}`, at, `$.titles[${bad}]`));
      return;
    }
    const prev = seen.get(row);
    if (prev !== undefined) {
      errors.push(new LocatedError(`row ${row} already scored at line ${prev}`, at, '$.row'));
      return;
    }
    seen.set(row, lineNo);
    recs.push({ row, titles: titles as string[] });
  });
  return { recs, errors };
}

function fail(lines: string[]): number {
  process.stderr.write(lines.join('\n') + '\n');
  return 2;
}

function located(e: unknown): string {
  if (e instanceof LocatedError) return `${e.where}${e.path ? ` (${e.path})` : ''}: ${e.message}`;
  return `error: ${(e as Error)?.message ?? String(e)}`;
}

/** CLI entry (argv after `flowloop`, with or without the leading `metrics`). Returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const args = argv[0] === 'metrics' ? argv.slice(1) : argv;
  let values: { recommendations?: string; dataset?: string; split?: string; help?: boolean };
  try {
    const { flags, positional } = parseCommandArgs('metrics', args);
    if (positional.length) throw new Error(`unexpected argument "${positional[0]}"`);
    values = { ...(flags as { recommendations?: string; dataset?: string; split?: string; help?: boolean }) };
    values.split ??= 'test';
  } catch (e) {
    return fail([`flowloop metrics: ${(e as Error).message}`, USAGE]);
  }
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (!values.recommendations || !values.dataset) return fail([`flowloop metrics: --recommendations and --dataset are required`, USAGE]);
  if (values.split !== 'test' && values.split !== 'valid')
    return fail([`flowloop metrics: --split must be test or valid, got ${values.split}`]);
  const split = values.split;
  if (!existsSync(values.recommendations)) return fail([`${values.recommendations}: file not found`]);
  if (!existsSync(values.dataset) || !statSync(values.dataset).isDirectory()) return fail([`${values.dataset}: not a dataset folder`]);
  try {
    const dataset = await loadAmazon(values.dataset);
    const { recs, errors } = readRecommendations(values.recommendations, dataset[split].length);
    if (errors.length > 0) {
      const shown = errors.slice(0, MAX_REPORTED).map(located);
      if (errors.length > MAX_REPORTED) shown.push(`… and ${errors.length - MAX_REPORTED} more errors`);
      return fail(shown);
    }
    if (recs.length === 0) return fail([`${values.recommendations}: no recommendation lines`]);
    process.stdout.write(JSON.stringify(scoreRecommendations(recs, dataset, split)) + '\n');
    return 0;
  } catch (e) {
    return fail([located(e)]);
  }
}
