/**
 * Parsing the agents' replies and matching items to the candidate list (docs/methods.md §B2).
 *  - Rec agent: `Reason: … Item: …`, exactly one match.
 *  - User agent: `Reason: … Decision: yes|no`, exactly one match.
 *  - Matching: `lenient` (default) = case-insensitive after trimming (also trims surrounding quotes,
 *    markdown emphasis and a final period when that alone finds a candidate); `strict` = the reference's
 *    check (lower-cased item == lower-cased, stripped target; no candidate-list check changes behaviour).
 *    In both modes an item not in the candidate list is recorded as such.
 */
export type Matching = 'lenient' | 'strict';

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

const LABEL = (name: string) => String.raw`(?:^|\s)[>#*_-]*${name}[*_]*\s*:[*_]*[ \t]*`;
const REC_RE = new RegExp(`${LABEL('Reason')}([\\s\\S]*?)${LABEL('Item')}([^\\n]*)`, 'gi');
const REC_STRICT_RE = /Reason:([\s\S]*?)Item:([^\n]*)/g;
const USER_RE = new RegExp(`${LABEL('Reason')}([\\s\\S]*?)${LABEL('Decision')}[*_"'\`\\s]*(yes|no)\\b`, 'gi');
const USER_STRICT_RE = /Reason:([\s\S]*?)Decision:\s*(yes|no)\b/gi;

/** docs/methods.md §B2 step 1: parse a rec agent reply into reason and item (exactly one `Reason/Item` pair). */
export function parseRecReply(text: string, matching: Matching = 'lenient'): ParseResult<{ reason: string; item: string }> {
  const re = matching === 'strict' ? REC_STRICT_RE : REC_RE;
  const ms = [...text.matchAll(re)];
  if (ms.length === 0) return { ok: false, error: 'no "Reason: … Item: …" in the reply' };
  if (ms.length > 1) return { ok: false, error: `${ms.length} "Reason: … Item: …" pairs in the reply (exactly one expected)` };
  const reason = ms[0][1].trim();
  const item = ms[0][2].trim();
  if (item === '') return { ok: false, error: 'empty item after "Item:"' };
  return { ok: true, value: { reason, item } };
}

/** docs/methods.md §B2 step 2: parse a user agent reply into reason and decision (exactly one pair). */
export function parseUserReply(text: string, matching: Matching = 'lenient'): ParseResult<{ reason: string; decision: 'yes' | 'no' }> {
  const re = matching === 'strict' ? USER_STRICT_RE : USER_RE;
  const ms = [...text.matchAll(re)];
  if (ms.length === 0) return { ok: false, error: 'no "Reason: … Decision: yes|no" in the reply' };
  if (ms.length > 1) return { ok: false, error: `${ms.length} "Reason: … Decision:" pairs in the reply (exactly one expected)` };
  return { ok: true, value: { reason: ms[0][1].trim(), decision: ms[0][2].toLowerCase() as 'yes' | 'no' } };
}

const norm = (s: string) => s.trim().toLowerCase();
/** Surrounding quotes / emphasis / brackets and a final period removed. */
function unwrap(s: string): string {
  let t = s.trim();
  for (let i = 0; i < 3; i++) {
    const before = t;
    t = t.replace(/^[*_`"'“‘<[(]+/, '').replace(/[*_`"'”’>\])]+$/, '').replace(/\.$/, '').trim();
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
