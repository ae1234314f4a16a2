/**
 * Reading a `{title: reward}` file (docs/methods.md §A2: `title_counts.json` = history counts, or any user-supplied
 * reward file) with located errors, and building the prefix tree from it.
 */
import { readFileSync } from 'node:fs';
import { findNodeAtLocation, parse, parseTree, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { LocatedError } from '../experiment/context';
import { lineColAt } from '../util/textPosition';
import type { Tokenizer } from '../tokenize';
import { PrefixTree, type TrieBuildOptions } from './prefixTree';

export interface TitleRewards {
  titles: string[];
  rewards: Float64Array;
}

function lineCol(text: string, offset: number): string {
  const { line, col } = lineColAt(text, offset);
  return `${line}:${col}`;
}

/** Parse `{title: reward}` JSON text; `file` names the source in errors ("file:line:col"). */
export function parseRewardJson(text: string, file: string): TitleRewards {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    const errors: ParseError[] = [];
    parse(text, errors, { allowTrailingComma: false, disallowComments: true });
    const e = errors[0];
    throw new LocatedError(`invalid JSON${e ? ` (${printParseErrorCode(e.error)})` : ''}`, e ? `${file}:${lineCol(text, e.offset)}` : file);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new LocatedError('expected a JSON object {"title": reward, ...}', `${file}:1:1`, '$');
  }
  const titles = Object.keys(obj);
  if (titles.length === 0) throw new LocatedError('no titles in the reward file', `${file}:1:1`, '$');
  const rewards = new Float64Array(titles.length);
  const values = obj as Record<string, unknown>;
  for (let i = 0; i < titles.length; i++) {
    const v = values[titles[i]];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      const node = findNodeAtLocation(parseTree(text)!, [titles[i]]);
      const where = node ? `${file}:${lineCol(text, node.offset)}` : file;
      throw new LocatedError(
        `reward of ${JSON.stringify(titles[i])} must be a finite number ≥ 0 (got ${JSON.stringify(v)})`,
        where,
        `$[${JSON.stringify(titles[i])}]`,
      );
    }
    if (titles[i].includes('\n')) {
      const node = findNodeAtLocation(parseTree(text)!, [titles[i]]);
      throw new LocatedError(
        `title ${JSON.stringify(titles[i])} contains a newline (the title terminal)`,
        node ? `${file}:${lineCol(text, node.offset)}` : file,
        `$[${JSON.stringify(titles[i])}]`,
      );
    }
    rewards[i] = v;
  }
  return { titles, rewards };
}

/** Read a `{title: reward}` file (e.g. ../shared/data/amazon/<dataset>/title_counts.json). */
export function readRewardFile(file: string): TitleRewards {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new LocatedError(`cannot read reward file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
  }
  return parseRewardJson(text, file);
}

/** docs/methods.md §A2/A3: the prefix tree of all titles of a `{title: reward}` file. */
export function buildTrieFromRewardFile(file: string, tok: Tokenizer, opts?: TrieBuildOptions): PrefixTree {
  const { titles, rewards } = readRewardFile(file);
  return PrefixTree.build(titles, rewards, tok, opts);
}
