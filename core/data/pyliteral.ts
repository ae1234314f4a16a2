/**
 * A parser for the Python literals found in the Amazon CSVs (docs/methods.md §A10: "list cells are Python list
 * literals with single quotes — parse them properly"): lists/tuples of str, int, float, True/False/None,
 * nested. Strings follow Python's rules: '…' or "…" (also triple-quoted), backslash escapes \\ \' \" \n
 * \t \r \a \b \f \v \0-\777 (octal) \xhh \uXXXX \UXXXXXXXX, backslash-newline continuation; an unknown
 * escape such as "\D" keeps the backslash (as Python does). r/R raw prefixes and adjacent string
 * concatenation are supported. Errors give the 1-based column.
 */

export type PyValue = string | number | boolean | null | PyValue[];

export class PyLiteralError extends Error {
  constructor(
    message: string,
    readonly column: number,
  ) {
    super(`${message} at column ${column}`);
    this.name = 'PyLiteralError';
  }
}

class Parser {
  pos = 0;
  constructor(readonly s: string) {}

  fail(msg: string, at = this.pos): never {
    throw new PyLiteralError(msg, at + 1);
  }

  ws(): void {
    const s = this.s;
    for (;;) {
      const c = s.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11) this.pos++;
      else return;
    }
  }

  value(): PyValue {
    this.ws();
    const c = this.s[this.pos];
    if (c === undefined) this.fail('unexpected end of literal');
    if (c === '[' || c === '(') return this.sequence(c === '[' ? ']' : ')');
    if (c === "'" || c === '"' || ((c === 'r' || c === 'R') && (this.s[this.pos + 1] === "'" || this.s[this.pos + 1] === '"'))) {
      let out = this.string();
      // adjacent literals concatenate: 'a' 'b' == 'ab'
      for (;;) {
        const save = this.pos;
        this.ws();
        const d = this.s[this.pos];
        if (d === "'" || d === '"' || ((d === 'r' || d === 'R') && (this.s[this.pos + 1] === "'" || this.s[this.pos + 1] === '"')))
          out += this.string();
        else {
          this.pos = save;
          break;
        }
      }
      return out;
    }
    const m = /^(?:True|False|None)\b/.exec(this.s.slice(this.pos, this.pos + 6));
    if (m) {
      this.pos += m[0].length;
      return m[0] === 'True' ? true : m[0] === 'False' ? false : null;
    }
    return this.number();
  }

  sequence(close: ']' | ')'): PyValue[] {
    const open = this.pos;
    this.pos++;
    const out: PyValue[] = [];
    for (;;) {
      this.ws();
      if (this.s[this.pos] === close) {
        this.pos++;
        return out;
      }
      if (this.pos >= this.s.length) this.fail(`unclosed '${this.s[open]}'`, open);
      out.push(this.value());
      this.ws();
      const c = this.s[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === close) {
        this.pos++;
        return out;
      }
      if (c === undefined) this.fail(`unclosed '${this.s[open]}'`, open);
      this.fail(`expected ',' or '${close}', found ${JSON.stringify(c)}`);
    }
  }

  number(): number {
    const m = /^[+-]?(?:\d[\d_]*\.?[\d_]*(?:[eE][+-]?\d+)?|\.\d[\d_]*(?:[eE][+-]?\d+)?)/.exec(this.s.slice(this.pos));
    if (!m) this.fail(`unexpected ${JSON.stringify(this.s[this.pos])}`);
    this.pos += m[0].length;
    return Number(m[0].replace(/_/g, ''));
  }

  string(): string {
    let raw = false;
    if (this.s[this.pos] === 'r' || this.s[this.pos] === 'R') {
      raw = true;
      this.pos++;
    }
    const start = this.pos;
    const q = this.s[this.pos];
    const triple = this.s.startsWith(q.repeat(3), this.pos);
    const delim = triple ? q.repeat(3) : q;
    this.pos += delim.length;
    let out = '';
    const qc = q.charCodeAt(0);
    for (;;) {
      // copy the run of ordinary characters in one slice
      let i = this.pos;
      const s = this.s;
      for (;;) {
        const cc = s.charCodeAt(i);
        if (cc === qc || cc === 92 /* \\ */ || cc === 10 || Number.isNaN(cc)) break;
        i++;
      }
      if (i > this.pos) {
        out += s.slice(this.pos, i);
        this.pos = i;
      }
      if (this.pos >= this.s.length) this.fail('unterminated string', start);
      if (this.s.startsWith(delim, this.pos)) {
        this.pos += delim.length;
        return out;
      }
      const c = this.s[this.pos];
      if (c === '\n' && !triple) this.fail('newline in string', this.pos);
      if (c !== '\\') {
        out += c;
        this.pos++;
        continue;
      }
      const e = this.s[this.pos + 1];
      if (e === undefined) this.fail('unterminated string', start);
      if (raw) {
        out += c + e;
        this.pos += 2;
        continue;
      }
      this.pos += 2;
      switch (e) {
        case '\n':
          break;
        case '\\':
          out += '\\';
          break;
        case "'":
          out += "'";
          break;
        case '"':
          out += '"';
          break;
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'a':
          out += '\x07';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case 'x':
          out += this.hex(2);
          break;
        case 'u':
          out += this.hex(4);
          break;
        case 'U':
          out += this.hex(8);
          break;
        default:
          if (e >= '0' && e <= '7') {
            let digits = e;
            while (digits.length < 3 && this.s[this.pos] >= '0' && this.s[this.pos] <= '7') digits += this.s[this.pos++];
            out += String.fromCodePoint(parseInt(digits, 8));
          } else {
            out += '\\' + e; // Python keeps unknown escapes verbatim
          }
      }
    }
  }

  hex(n: number): string {
    const h = this.s.slice(this.pos, this.pos + n);
    if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) this.fail(`bad \\${n === 2 ? 'x' : n === 4 ? 'u' : 'U'} escape`, this.pos - 2);
    const cp = parseInt(h, 16);
    if (cp > 0x10ffff) this.fail('code point out of range', this.pos - 2);
    this.pos += n;
    return String.fromCodePoint(cp);
  }
}

/** Parses one Python literal (the whole text must be consumed). Throws PyLiteralError with a column. */
export function parsePyLiteral(text: string): PyValue {
  const p = new Parser(text);
  const v = p.value();
  p.ws();
  if (p.pos !== text.length) p.fail(`unexpected ${JSON.stringify(text[p.pos])} after the literal`);
  return v;
}

/** Parses a Python list of strings, e.g. `['a', "b's", 'c, d']`. */
export function parsePyStringList(text: string): string[] {
  const v = parsePyLiteral(text);
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new PyLiteralError('expected a list of strings', 1);
  return v as string[];
}

/** Parses a Python list of numbers (ints or floats), e.g. `[5.0, 4.0]`. */
export function parsePyNumberList(text: string): number[] {
  const v = parsePyLiteral(text);
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw new PyLiteralError('expected a list of numbers', 1);
  return v as number[];
}

/** Parses a Python list of integers. */
export function parsePyIntList(text: string): number[] {
  const v = parsePyNumberList(text);
  if (!v.every((x) => Number.isInteger(x))) throw new PyLiteralError('expected a list of integers', 1);
  return v;
}
