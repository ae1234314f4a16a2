/**
 * Line-oriented file reading shared by the dataset readers. Files are read in
 * 1 MiB chunks (never whole into one string for the big ones) and every line carries its 1-based number,
 * so that a corrupt row becomes a LocatedError naming `file:line`.
 */
import { closeSync, openSync, readSync, readFileSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { type ParseError, getNodeValue, parseTree, printParseErrorCode } from 'jsonc-parser';
import { LocatedError } from '../experiment/context';

export { LocatedError };

/** `file:line` location string used by every reader error. */
export function where(file: string, line: number): string {
  return `${file}:${line}`;
}

/**
 * Calls `fn(line, lineNumber)` for every line of `file` (1-based numbers, `\n` or `\r\n` endings, no
 * terminator in `line`). A final empty line after the last newline is not reported. Streams the file in
 * chunks so memory stays proportional to the longest line.
 */
export function eachLine(file: string, fn: (line: string, lineNo: number) => void, encoding: 'utf8' | 'latin1' = 'utf8'): void {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new LocatedError(`cannot open: ${(e as Error).message}`, file);
  }
  const decoder = new StringDecoder(encoding);
  const buf = Buffer.allocUnsafe(1 << 20);
  let carry = '';
  let lineNo = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      const text = n > 0 ? carry + decoder.write(buf.subarray(0, n)) : carry + decoder.end();
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) break;
        let end = nl;
        if (end > start && text.charCodeAt(end - 1) === 13) end--;
        fn(text.slice(start, end), ++lineNo);
        start = nl + 1;
      }
      carry = text.slice(start);
      if (n <= 0) break;
    }
    if (carry.length > 0) fn(carry.endsWith('\r') ? carry.slice(0, -1) : carry, ++lineNo);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a JSON Lines file: one JSON value per non-blank line, each passed through `convert` (which
 * throws plain Errors for bad fields; they are re-thrown located at `file:line`). Blank lines are skipped.
 */
export function readJsonl<T>(file: string, convert: (value: unknown, lineNo: number) => T): T[] {
  const out: T[] = [];
  eachLine(file, (line, lineNo) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new LocatedError(`invalid JSON: ${(e as Error).message}`, where(file, lineNo));
    }
    try {
      out.push(convert(value, lineNo));
    } catch (e) {
      if (e instanceof LocatedError) throw e;
      throw new LocatedError((e as Error).message, where(file, lineNo));
    }
  });
  return out;
}

/** A whole text file (UTF-8); a read error is a LocatedError at `file`, its message opened by `what`. */
export function readTextFile(file: string, what = 'cannot read'): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new LocatedError(`${what}: ${(e as Error).message}`, file);
  }
}

/** Reads and parses a whole JSON file; a syntax error is located at `file:line:col`. */
export function readJsonFile(file: string): unknown {
  const text = readTextFile(file);
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const m = /position (\d+)/.exec(msg);
    if (m) {
      const pos = Number(m[1]);
      const before = text.slice(0, pos);
      const line = before.split('\n').length;
      const col = pos - before.lastIndexOf('\n');
      throw new LocatedError(`invalid JSON: ${msg}`, `${file}:${line}:${col}`);
    }
    throw new LocatedError(`invalid JSON: ${msg}`, file);
  }
}

// ---- small field validators (throw plain Errors; the caller adds the location) ----

export function asObject(v: unknown, what = 'row'): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

export function intField(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`field "${key}" must be an integer, got ${JSON.stringify(v)}`);
  return v;
}

export function numField(o: Record<string, unknown>, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`field "${key}" must be a number, got ${JSON.stringify(v)}`);
  return v;
}

export function strField(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new Error(`field "${key}" must be a string, got ${JSON.stringify(v)}`);
  return v;
}

export function intArrayField(o: Record<string, unknown>, key: string): number[] {
  const v = o[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x))) {
    throw new Error(`field "${key}" must be an array of integers`);
  }
  return v as number[];
}

export function numArrayField(o: Record<string, unknown>, key: string): number[] {
  const v = o[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new Error(`field "${key}" must be an array of numbers`);
  }
  return v as number[];
}

export function strArrayField(o: Record<string, unknown>, key: string): string[] {
  const v = o[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`field "${key}" must be an array of strings`);
  return v as string[];
}

/** `file:line:col` of a character offset in `text`. */
export function whereOffset(file: string, text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `${file}:${line}:${offset - before.lastIndexOf('\n')}`;
}

/**
 * Entries of a JSON object file IN FILE ORDER (JSON.parse would put integer-like keys such as "25"
 * first; the popularity groups of docs/methods.md §A9 depend on file order for ties). Each entry carries its
 * `file:line:col`. Strict JSON: comments and trailing commas are errors.
 */
export function readJsonObjectEntries(file: string): { key: string; value: unknown; where: string }[] {
  const text = readTextFile(file);
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false });
  if (errors.length > 0) {
    throw new LocatedError(`invalid JSON: ${printParseErrorCode(errors[0].error)}`, whereOffset(file, text, errors[0].offset));
  }
  if (!root || root.type !== 'object') throw new LocatedError('expected a JSON object', file, '$');
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const at = (offset: number): string => {
    let lo = 0,
      hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return `${file}:${lo + 1}:${offset - lineStarts[lo] + 1}`;
  };
  return (root.children ?? []).map((prop) => {
    const [k, v] = prop.children!;
    return { key: k.value as string, value: getNodeValue(v), where: at(v.offset) };
  });
}
