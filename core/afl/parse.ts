/**
 * Parsing the agents' replies and matching items to the candidate list (docs/methods.md §B2).
 *  - `strict` = the released code's parsing exactly: on the reply + "\n", Python's
 *    `re.findall(r'Reason: (.*?)\nItem: (.*?)\n', text, re.DOTALL)` (case-sensitive labels, one space after
 *    the colon, the item line up to its newline) must find exactly one match, both parts `.strip()`ped;
 *    the user agent's `Reason: (.*?)\nDecision: (.*?)\n` likewise, then `decision.lower().startswith('yes')`
 *    = yes, `startswith('no')` = no, anything else a parse failure. Item check: the reference's
 *    `item.lower() == target.lower().strip()`; no candidate-list check changes behaviour.
 *  - `lenient` (default): the same labels, case-insensitive, taken ONLY at the start of a line (after
 *    optional spaces and markdown `> # * _ -`), so a reason that says "the item: …" mid-line is text;
 *    items matched case-insensitively after trimming (also trims surrounding quotes, markdown emphasis
 *    and a final period when that alone finds a candidate).
 * In both modes an item not in the candidate list is recorded as such.
 */
export type Matching = 'lenient' | 'strict';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

/** A label at the start of a line (lenient): `Reason:`, `**Item:**`, `> Decision:` … */
const LABEL = (name: string) => String.raw`(?:^|\n)[ \t]*(?:[>#*_-]+[ \t]*)*${name}[*_]*[ \t]*:[*_]*[ \t]*`;
const REC_RE = new RegExp(`${LABEL('Reason')}([\\s\\S]*?)${LABEL('Item')}([^\\n]*)`, 'gi');
const USER_RE = new RegExp(`${LABEL('Reason')}([\\s\\S]*?)${LABEL('Decision')}[*_"'\`\\s]*(yes|no)\\b`, 'gi');
/** The released patterns (Python `re.DOTALL` `.` = `[\s\S]`), applied to the reply + "\n". */
const REC_RELEASED_RE = /Reason: ([\s\S]*?)\nItem: ([\s\S]*?)\n/g;
const USER_RELEASED_RE = /Reason: ([\s\S]*?)\nDecision: ([\s\S]*?)\n/g;
/** Python's str.strip() (whitespace at both ends). */
// eslint-disable-next-line no-control-regex -- Python's str.strip() also strips these control characters
const pyStrip = (s: string) => s.replace(/^[\s\x1c-\x1f\x85]+|[\s\x1c-\x1f\x85]+$/g, '');

/** docs/methods.md §B2 step 1: parse a rec agent reply into reason and item (exactly one `Reason/Item` pair). */
export function parseRecReply(text: string, matching: Matching = 'lenient'): ParseResult<{ reason: string; item: string }> {
  if (matching === 'strict') {
    const ms = [...`${text}\n`.matchAll(REC_RELEASED_RE)];
    if (ms.length !== 1)
      return { ok: false, error: `${ms.length} "Reason: …\\nItem: …" matches of the released pattern (exactly one expected)` };
    return { ok: true, value: { reason: pyStrip(ms[0][1]), item: pyStrip(ms[0][2]) } };
  }
  const ms = [...text.matchAll(REC_RE)];
  if (ms.length === 0) return { ok: false, error: 'no "Reason: … Item: …" in the reply (labels at the start of a line)' };
  if (ms.length > 1) return { ok: false, error: `${ms.length} "Reason: … Item: …" pairs in the reply (exactly one expected)` };
  const reason = ms[0][1].trim();
  const item = ms[0][2].trim();
  if (item === '') return { ok: false, error: 'empty item after "Item:"' };
  return { ok: true, value: { reason, item } };
}

/** docs/methods.md §B2 step 2: parse a user agent reply into reason and decision (exactly one pair). */
export function parseUserReply(text: string, matching: Matching = 'lenient'): ParseResult<{ reason: string; decision: 'yes' | 'no' }> {
  if (matching === 'strict') {
    const ms = [...`${text}\n`.matchAll(USER_RELEASED_RE)];
    if (ms.length !== 1)
      return { ok: false, error: `${ms.length} "Reason: …\\nDecision: …" matches of the released pattern (exactly one expected)` };
    const d = ms[0][2].toLowerCase();
    if (d.startsWith('yes')) return { ok: true, value: { reason: pyStrip(ms[0][1]), decision: 'yes' } };
    if (d.startsWith('no')) return { ok: true, value: { reason: pyStrip(ms[0][1]), decision: 'no' } };
    return { ok: false, error: `the decision ${JSON.stringify(ms[0][2])} starts with neither "yes" nor "no"` };
  }
  const ms = [...text.matchAll(USER_RE)];
  if (ms.length === 0) return { ok: false, error: 'no "Reason: … Decision: yes|no" in the reply (labels at the start of a line)' };
  if (ms.length > 1) return { ok: false, error: `${ms.length} "Reason: … Decision:" pairs in the reply (exactly one expected)` };
  return { ok: true, value: { reason: ms[0][1].trim(), decision: ms[0][2].toLowerCase() as 'yes' | 'no' } };
}

const norm = (s: string) => s.trim().toLowerCase();
/** Surrounding quotes / emphasis / brackets and a final period removed. */
function unwrap(s: string): string {
  let t = s.trim();
  for (let i = 0; i < 3; i++) {
    const before = t;
    t = t
      .replace(/^[*_`"'“‘<[(]+/, '')
      .replace(/[*_`"'”’>\])]+$/, '')
      .replace(/\.$/, '')
      .trim();
    if (t === before) break;
  }
  return t;
}

export interface ItemMatch {
  /** Index in the candidate list, -1 when not in it. */
  index: number;
  /** The candidate's own name when matched, else the item as given. */
  name: string;
}

/** Finds a recommended item in the candidate list (docs/methods.md §B2 matching; names are whole strings, never split). */
export function matchItem(item: string, candidates: readonly string[], matching: Matching = 'lenient'): ItemMatch {
  if (matching === 'strict') {
    const i = candidates.indexOf(item);
    return { index: i, name: item };
  }
  const k = norm(item);
  let i = candidates.findIndex((c) => norm(c) === k);
  if (i < 0) {
    const u = norm(unwrap(item));
    i = candidates.findIndex((c) => norm(c) === u);
  }
  return i >= 0 ? { index: i, name: candidates[i] } : { index: -1, name: item.trim() };
}

/** HitRatio@1 test of a final item against the target (strict = reference: `item.lower() == target.lower().strip()`). */
export function isHit(item: string | null, target: string, matching: Matching = 'lenient'): boolean {
  if (item === null) return false;
  if (matching === 'strict') return item.toLowerCase() === target.toLowerCase().trim();
  return norm(item) === norm(target);
}
