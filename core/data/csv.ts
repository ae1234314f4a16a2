/**
 * CSV layer of the readers (RFC 4180 via csv-parse): records with the 1-based line on which each one
 * starts, so that a bad row becomes a LocatedError `file:line`.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { LocatedError, where } from './lines';

export interface CsvRecord {
  fields: string[];
  /** 1-based line where the record starts. */
  line: number;
}

/**
 * Parses a whole CSV file. The first record must equal `header` (when given). Syntax errors (unclosed
 * quote, wrong field count, stray quote) are located at the line csv-parse reports.
 */
export function readCsv(file: string, header?: readonly string[]): { header: string[]; rows: CsvRecord[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new LocatedError(`cannot read: ${(e as Error).message}`, file);
  }
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { info: true, bom: true, skip_empty_lines: true, relax_column_count: true }) as unknown as typeof records;
  } catch (e) {
    const err = e as Error & { lines?: number };
    throw new LocatedError(`invalid CSV: ${err.message}`, err.lines ? where(file, err.lines) : file);
  }
  // info.lines = the record's last line; subtract the newlines inside quoted fields to get its first.
  const rows: CsvRecord[] = records.map(({ record, info }) => {
    let nl = 0;
    for (const f of record) for (let i = f.indexOf('\n'); i >= 0; i = f.indexOf('\n', i + 1)) nl++;
    return { fields: record, line: info.lines - nl };
  });
  if (rows.length === 0) throw new LocatedError(`empty file${header ? ` (expected header ${header.join(',')})` : ''}`, where(file, 1));
  const head = rows.shift()!;
  if (header && head.fields.join('\u0000') !== header.join('\u0000')) {
    throw new LocatedError(`expected header "${header.join(',')}", got "${head.fields.join(',')}"`, where(file, head.line));
  }
  const n = head.fields.length;
  for (const r of rows) {
    if (r.fields.length !== n) throw new LocatedError(`expected ${n} fields, got ${r.fields.length}`, where(file, r.line));
  }
  return { header: head.fields, rows };
}
