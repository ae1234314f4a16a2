/**
 * AFL prompt packs (docs/methods.md §B5): user-editable JSON files holding the recommendation agent's and the
 * user agent's prompt and memory templates with NAMED placeholders (`{history}`, `{candidates}`, ...).
 *
 * Template syntax (one string, or an array of lines joined by "\n"):
 *  - `{name}`   the value of a placeholder (names below, per template key);
 *  - `{?name}`  renders nothing, but marks the line as needing `name`;
 *  - a line that uses a placeholder whose value is absent (null: no prior in the "w/o recommendation
 *    model" ablation, no focus list in "w/o reward model", empty memory in round 1) is DROPPED;
 *  - `{{` and `}}` are literal braces.
 * A missing required placeholder, an unknown one or a stray brace is a LocatedError naming the pack
 * file (file:line of the template) and the template key (JSON path `templates.<key>`).
 */
import { findNodeAtLocation, parseTree, type Node as JsonNode } from 'jsonc-parser';
import { readTextFile } from '../data/lines';
import { LocatedError } from '../experiment/context';

/** Every template key a pack may hold. */
export const TEMPLATE_KEYS = [
  'rec.system',
  'rec.user',
  'rec.memorySystem',
  'rec.memoryUser',
  'rec.memoryEntry',
  'user.system',
  'user.user',
  'user.memorySystem',
  'user.memoryUser',
  'user.memoryEntry',
  'user.memoryEntryAccepted',
  'userSim.system',
  'userSim.user',
  'userSim.memorySystem',
  'userSim.memoryUser',
] as const;
export type TemplateKey = (typeof TEMPLATE_KEYS)[number];

/** Values of placeholders; null = absent (lines using it are dropped). */
export type TemplateValues = Record<string, string | null>;

/**
 * A group of templates rendered together (one LLM call = system + user message, or one memory entry),
 * the placeholders it may use and those it must use somewhere.
 */
interface GroupSpec {
  keys: TemplateKey[];
  allowed: string[];
  required: string[];
  /** Required in every pack (else only where an evaluation needs it). */
  mandatory: boolean;
}

const LOOP_COMMON = ['history', 'numCandidates', 'candidates', 'prior', 'memory', 'round'];
/** A user-agent turn also sees the focus list and the recommendation it judges. */
const USER_TURN = [...LOOP_COMMON, 'focus', 'item', 'recReason'];
/** A memory entry: one round's recommendation and both agents' reasons. */
const MEMORY_ENTRY = ['round', 'item', 'recReason', 'userReason'];
export const GROUPS: Record<string, GroupSpec> = {
  /** Rec agent, round 1 (docs/methods.md §B2 step 1: sees the prior). */
  'rec.first': { keys: ['rec.system', 'rec.user'], allowed: LOOP_COMMON, required: ['history', 'candidates', 'prior'], mandatory: true },
  /** Rec agent, later rounds (sees its memory instead of the prior); optional: else rec.first is used. */
  'rec.next': {
    keys: ['rec.memorySystem', 'rec.memoryUser'],
    allowed: LOOP_COMMON,
    required: ['history', 'candidates', 'memory'],
    mandatory: false,
  },
  'rec.memoryEntry': { keys: ['rec.memoryEntry'], allowed: MEMORY_ENTRY, required: MEMORY_ENTRY, mandatory: true },
  /** User agent (docs/methods.md §B2 step 2: prior and reward-model focus list every round). */
  'user.first': {
    keys: ['user.system', 'user.user'],
    allowed: USER_TURN,
    required: ['history', 'candidates', 'prior', 'focus', 'item', 'recReason'],
    mandatory: true,
  },
  'user.next': {
    keys: ['user.memorySystem', 'user.memoryUser'],
    allowed: USER_TURN,
    required: ['history', 'candidates', 'focus', 'item', 'recReason', 'memory'],
    mandatory: false,
  },
  'user.memoryEntry': { keys: ['user.memoryEntry'], allowed: MEMORY_ENTRY, required: MEMORY_ENTRY, mandatory: true },
  /** Memory entry of an accepted round (kept for user-simulation step 2); optional. */
  'user.memoryEntryAccepted': {
    keys: ['user.memoryEntryAccepted'],
    allowed: MEMORY_ENTRY,
    required: ['round', 'item', 'recReason'],
    mandatory: false,
  },
  /** User-simulation step 2 (docs/methods.md §B4): judge one item, shown the reward model's score. */
  'userSim.first': {
    keys: ['userSim.system', 'userSim.user'],
    allowed: ['history', 'item', 'score'],
    required: ['history', 'item', 'score'],
    mandatory: false,
  },
  'userSim.memory': {
    keys: ['userSim.memorySystem', 'userSim.memoryUser'],
    allowed: ['history', 'item', 'score', 'memory', 'loopCandidates'],
    required: ['history', 'item', 'score', 'memory'],
    mandatory: false,
  },
};

export interface PromptPack {
  name: string;
  /** Where it came from (pack file path, or the released JSON). */
  file: string;
  description?: string;
  source?: string;
  /** Joins names in lists (history, candidates, focus). */
  listJoin: string;
  /** Joins memory entries. */
  memoryJoin: string;
  templates: Partial<Record<TemplateKey, string>>;
  /** `file:line` of each template, for located errors. */
  where: Partial<Record<TemplateKey, string>>;
  /**
   * The released pack (replication mode): the loop follows the released code where it differs from the
   * paper's text, i.e. an accepted round enters the user memory through `user.memoryEntry` with the
   * user's reason (the released `user_build_memory`), not `user.memoryEntryAccepted`.
   */
  replication?: boolean;
}

/** What each ablation (docs/methods.md §B6) removes from a pack's loop prompts: the lines that need its value. */
export function ablationEffects(pack: PromptPack): Record<'w/o rec model' | 'w/o reward model', string[]> {
  const lines = (name: string) =>
    TEMPLATE_KEYS.filter((k) => k.startsWith('rec.') || k.startsWith('user.')).flatMap((k) => {
      const t = pack.templates[k];
      if (t === undefined) return [];
      return t
        .split('\n')
        .filter((l) => placeholdersOf(l).has(name))
        .map((l) => `${k}: ${l.replace(/\{\?[A-Za-z]+\}/g, '')}`);
    });
  return { 'w/o rec model': lines('prior'), 'w/o reward model': lines('focus') };
}

type Piece = { lit: string } | { name: string; marker: boolean };
const TOKEN = /\{\{|\}\}|\{(\??)([A-Za-z][A-Za-z0-9_]*)\}|\{[^{}\n]*\}|[{}]/g;

/** Splits one line of a template into literal text and placeholders; throws a plain Error on bad syntax. */
function tokenizeLine(line: string): Piece[] {
  const out: Piece[] = [];
  let last = 0;
  for (const m of line.matchAll(TOKEN)) {
    const at = m.index ?? 0;
    if (at > last) out.push({ lit: line.slice(last, at) });
    last = at + m[0].length;
    if (m[0] === '{{') out.push({ lit: '{' });
    else if (m[0] === '}}') out.push({ lit: '}' });
    else if (m[2] !== undefined) out.push({ name: m[2], marker: m[1] === '?' });
    else if (m[0].length > 1)
      throw new Error(`unknown placeholder ${m[0]} (use a name like {history}; write {{ and }} for literal braces)`);
    else throw new Error(`stray '${m[0]}' (write ${m[0]}${m[0]} for a literal brace)`);
  }
  if (last < line.length) out.push({ lit: line.slice(last) });
  return out;
}

/** Placeholder names used by a template (values and markers). */
export function placeholdersOf(template: string): Set<string> {
  const names = new Set<string>();
  for (const line of template.split('\n')) for (const p of tokenizeLine(line)) if ('name' in p) names.add(p.name);
  return names;
}

/**
 * Renders a template (docs/methods.md §B5 prompt/memory templates): substitutes named values; drops each line
 * that uses a null value. Every placeholder must have a value or null (else a programming error).
 */
export function renderTemplate(template: string, values: TemplateValues): string {
  const out: string[] = [];
  for (const line of template.split('\n')) {
    const pieces = tokenizeLine(line);
    let drop = false;
    let text = '';
    for (const p of pieces) {
      if ('lit' in p) {
        text += p.lit;
        continue;
      }
      const v = values[p.name];
      if (v === undefined) throw new Error(`no value given for placeholder {${p.name}}`);
      if (v === null) {
        drop = true;
        break;
      }
      if (!p.marker) text += v;
    }
    if (!drop) out.push(text);
  }
  return out.join('\n');
}

/** 1-based line of a JSON node's offset. */
function lineAt(text: string, offset: number): number {
  let n = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/**
 * Checks a pack (placeholders known to each template key, required ones present in each group).
 * Errors: LocatedError(message, pack `file:line`, `templates.<key>`).
 */
export function validatePack(pack: PromptPack, lineOf?: (key: TemplateKey, lineIndex?: number) => string): void {
  const loc = lineOf ?? ((key: TemplateKey) => pack.where[key] ?? pack.file);
  for (const [group, spec] of Object.entries(GROUPS)) {
    const present = spec.keys.filter((k) => pack.templates[k] !== undefined);
    if (present.length === 0) {
      if (spec.mandatory)
        throw new LocatedError(
          `prompt pack ${pack.name} lacks template '${spec.keys[spec.keys.length - 1]}' (${group})`,
          pack.file,
          `templates.${spec.keys[spec.keys.length - 1]}`,
        );
      continue;
    }
    const used = new Set<string>();
    for (const key of spec.keys) {
      const tpl = pack.templates[key];
      if (tpl === undefined) continue;
      const lines = tpl.split('\n');
      for (let i = 0; i < lines.length; i++) {
        let pieces: Piece[];
        try {
          pieces = tokenizeLine(lines[i]);
        } catch (e) {
          throw new LocatedError(`prompt pack ${pack.name}, template '${key}': ${(e as Error).message}`, loc(key, i), `templates.${key}`);
        }
        for (const p of pieces) {
          if (!('name' in p)) continue;
          if (!spec.allowed.includes(p.name)) {
            throw new LocatedError(
              `prompt pack ${pack.name}, template '${key}': unknown placeholder {${p.marker ? '?' : ''}${p.name}} (allowed here: ${spec.allowed.map((a) => `{${a}}`).join(', ')})`,
              loc(key, i),
              `templates.${key}`,
            );
          }
          if (!p.marker) used.add(p.name);
        }
      }
    }
    const missing = spec.required.filter((r) => !used.has(r));
    if (missing.length > 0) {
      const key = present[present.length - 1];
      throw new LocatedError(
        `prompt pack ${pack.name}, template '${key}'${present.length > 1 ? ` (with '${present[0]}')` : ''}: missing placeholder ${missing.map((m) => `{${m}}`).join(', ')}`,
        loc(key),
        `templates.${key}`,
      );
    }
  }
  // Without separate later-round templates, the first-round ones must carry the memory.
  for (const [first, next] of [
    ['rec.first', 'rec.next'],
    ['user.first', 'user.next'],
  ] as const) {
    if (GROUPS[next].keys.some((k) => pack.templates[k] !== undefined)) continue;
    const used = new Set(GROUPS[first].keys.flatMap((k) => (pack.templates[k] ? [...placeholdersOf(pack.templates[k]!)] : [])));
    if (!used.has('memory')) {
      const key = GROUPS[first].keys[1];
      throw new LocatedError(
        `prompt pack ${pack.name}, template '${key}': missing placeholder {memory} (or give '${GROUPS[next].keys.join("' and '")}' for later rounds)`,
        loc(key),
        `templates.${key}`,
      );
    }
  }
}

/** Throws a located error unless the pack has the templates an evaluation needs (e.g. 'userSim.first'). */
export function requireGroup(pack: PromptPack, group: keyof typeof GROUPS, why: string): void {
  const spec = GROUPS[group];
  const missing = spec.keys.filter((k) => pack.templates[k] === undefined);
  if (missing.length > 0)
    throw new LocatedError(
      `prompt pack ${pack.name} lacks template '${missing[0]}', needed for ${why}`,
      pack.file,
      `templates.${missing[0]}`,
    );
}

/** Builds a pack from parsed JSON (`{name, description?, source?, listJoin?, memoryJoin?, templates}`). */
export function packFromJson(json: unknown, file: string, text?: string): PromptPack {
  const tree = text !== undefined ? parseTree(text) : undefined;
  const nodeLine = (path: (string | number)[]): string => {
    if (!tree || text === undefined) return file;
    const node: JsonNode | undefined = findNodeAtLocation(tree, path);
    return node ? `${file}:${lineAt(text, node.offset)}` : file;
  };
  const fail = (msg: string, path: string, at: (string | number)[]): never => {
    throw new LocatedError(msg, nodeLine(at), path);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('a prompt pack must be a JSON object', '', []);
  const o = json as Record<string, unknown>;
  const templatesIn = o.templates;
  if (typeof templatesIn !== 'object' || templatesIn === null || Array.isArray(templatesIn))
    fail('prompt pack needs "templates": {key: string | string[]}', 'templates', ['templates']);
  const templates: Partial<Record<TemplateKey, string>> = {};
  const whereOf: Partial<Record<TemplateKey, string>> = {};
  const isArray: Partial<Record<TemplateKey, boolean>> = {};
  for (const [key, v] of Object.entries(templatesIn as Record<string, unknown>)) {
    if (!(TEMPLATE_KEYS as readonly string[]).includes(key))
      fail(`unknown template key '${key}' (known: ${TEMPLATE_KEYS.join(', ')})`, `templates.${key}`, ['templates', key]);
    const k = key as TemplateKey;
    if (typeof v === 'string') templates[k] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) {
      templates[k] = (v as string[]).join('\n');
      isArray[k] = true;
    } else fail(`template '${key}' must be a string or an array of lines (strings)`, `templates.${key}`, ['templates', key]);
    whereOf[k] = nodeLine(['templates', key]);
  }
  const str = (k: string, dflt: string): string => {
    const v = o[k];
    if (v === undefined) return dflt;
    if (typeof v !== 'string') fail(`"${k}" must be a string`, k, [k]);
    return v as string;
  };
  const pack: PromptPack = {
    name: str('name', file.replace(/^.*[\\/]/, '').replace(/\.json$/, '')),
    file,
    description: o.description === undefined ? undefined : str('description', ''),
    source: o.source === undefined ? undefined : str('source', ''),
    listJoin: str('listJoin', ', '),
    memoryJoin: str('memoryJoin', '\n'),
    templates,
    where: whereOf,
  };
  validatePack(pack, (key, lineIndex) =>
    isArray[key] && lineIndex !== undefined ? nodeLine(['templates', key, lineIndex]) : (whereOf[key] ?? file),
  );
  return pack;
}

/** Loads and validates a prompt pack file (docs/methods.md §B5). */
export function loadPackFile(file: string): PromptPack {
  const text = readTextFile(file, 'cannot read prompt pack');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new LocatedError(`prompt pack is not valid JSON: ${(e as Error).message}`, file);
  }
  return packFromJson(json, file, text);
}

/** A chat call's messages from a template group: system (omitted when empty) + user. */
export function renderMessages(
  pack: PromptPack,
  systemKey: TemplateKey,
  userKey: TemplateKey,
  values: TemplateValues,
): { role: 'system' | 'user'; content: string }[] {
  const msgs: { role: 'system' | 'user'; content: string }[] = [];
  const sys = pack.templates[systemKey];
  if (sys !== undefined) {
    const s = renderTemplate(sys, values);
    if (s.length > 0) msgs.push({ role: 'system', content: s });
  }
  const user = pack.templates[userKey];
  if (user === undefined) throw new Error(`prompt pack ${pack.name} lacks '${userKey}'`);
  msgs.push({ role: 'user', content: renderTemplate(user, values) });
  return msgs;
}
