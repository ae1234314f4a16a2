/**
 * The released AFL LastFM templates (`../shared/data/lastfm/prompts_released.json`, MIT) as a prompt
 * pack, for replication (docs/methods.md §B5): each positional `{}` slot becomes the named placeholder of its
 * argument, so rendering reproduces Python's `str.format` output byte for byte.
 */
import { readPromptsReleased, slotCount } from '../data/candidates';
import { LocatedError } from '../experiment/context';
import { validatePack, type PromptPack, type TemplateKey } from './pack';

/** Released constant -> pack key and the placeholder name of each positional slot (order of `arguments`). */
export const RELEASED_MAP: Record<string, { key: TemplateKey; slots: string[] }> = {
  'loop.rec_system_prompt': { key: 'rec.system', slots: [] },
  'loop.rec_user_prompt': { key: 'rec.user', slots: ['history', 'numCandidates', 'candidates', 'prior'] },
  'loop.rec_memory_system_prompt': { key: 'rec.memorySystem', slots: [] },
  'loop.rec_memory_user_prompt': { key: 'rec.memoryUser', slots: ['history', 'numCandidates', 'candidates', 'memory'] },
  'loop.user_system_promt': { key: 'user.system', slots: ['history', 'prior'] },
  'loop.user_user_prompt': { key: 'user.user', slots: ['candidates', 'focus', 'item', 'recReason'] },
  'loop.user_memory_system_prompt': { key: 'user.memorySystem', slots: ['history', 'prior'] },
  'loop.user_memory_user_prompt': { key: 'user.memoryUser', slots: ['candidates', 'focus', 'memory', 'item', 'recReason'] },
  'loop.rec_build_memory': { key: 'rec.memoryEntry', slots: ['round', 'item', 'recReason', 'userReason'] },
  'loop.user_build_memory': { key: 'user.memoryEntry', slots: ['round', 'item', 'recReason', 'userReason'] },
  'loop.user_build_memory_2': { key: 'user.memoryEntryAccepted', slots: ['round', 'item', 'recReason'] },
  'user_simulation.user_system_prompt': { key: 'userSim.system', slots: ['history'] },
  'user_simulation.user_user_prompt': { key: 'userSim.user', slots: ['item', 'score'] },
  'user_simulation.user_memory_system_prompt': { key: 'userSim.memorySystem', slots: ['history', 'loopCandidates', 'memory'] },
  'user_simulation.user_memory_user_prompt': { key: 'userSim.memoryUser', slots: ['item', 'score'] },
};

/** `{}` slots -> `{name}`; other braces escaped. */
export function namePositional(template: string, names: string[]): string {
  const parts = template.split('{}');
  return parts.map((p, i) => p.replace(/\{/g, '{{').replace(/\}/g, '}}') + (i < names.length ? `{${names[i]}}` : '')).join('');
}

/**
 * Consistent ablation prompts (docs/methods.md §B6): a released loop line that speaks of "another
 * recommendation system" without showing its suggestion gets the `{?prior}` marker, so the "w/o rec
 * model" ablation drops it with the suggestion itself. The marker renders nothing: with a prior the
 * text stays byte-identical to the released one.
 */
export function markAblationLines(key: TemplateKey, template: string): string {
  if (!key.startsWith('rec.') && !key.startsWith('user.')) return template;
  return template
    .split('\n')
    .map((l) => (/another recommendation system/i.test(l) && !l.includes('{prior}') ? `${l}{?prior}` : l))
    .join('\n');
}

/** Loads `prompts_released.json` as a validated prompt pack (byte-exact templates, named slots). */
export function loadReleasedPack(file: string): PromptPack {
  const rel = readPromptsReleased(file);
  const templates: Partial<Record<TemplateKey, string>> = {};
  for (const [relKey, { key, slots }] of Object.entries(RELEASED_MAP)) {
    const [section, name] = relKey.split('.', 2);
    const tpl = section === 'loop' ? rel.loop[name] : rel.userSimulation[name];
    const path = `$.${section}.${name}`;
    if (tpl === undefined) throw new LocatedError(`released prompts lack ${relKey}`, file, path);
    if (slotCount(tpl) !== slots.length)
      throw new LocatedError(`${relKey} has ${slotCount(tpl)} slots, Flowloop expects ${slots.length} (${slots.join(', ')})`, file, path);
    const given = rel.arguments[relKey];
    if (given && given.length !== slots.length)
      throw new LocatedError(
        `${relKey}: ${given.length} arguments listed, Flowloop expects ${slots.length}`,
        file,
        `$.arguments.${relKey}`,
      );
    templates[key] = markAblationLines(key, namePositional(tpl, slots));
  }
  const pack: PromptPack = {
    name: 'lastfm-released',
    file,
    description:
      'Byte-exact LastFM templates of the released AFL code (replication mode): positional slots named, the released parsing under matching "strict", an accepted round written to the user memory with the rejection template and the user\'s reason (user_build_memory), as the released loop does.',
    replication: true,
    source: rel.source,
    listJoin: ', ',
    memoryJoin: '\n',
    templates,
    where: {},
  };
  validatePack(pack);
  return pack;
}
