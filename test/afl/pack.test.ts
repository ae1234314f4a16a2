import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocatedError } from '../../core/experiment/context';
import { loadPackFile, placeholdersOf, renderMessages, renderTemplate } from '../../core/afl/pack';
import { loadReleasedPack, RELEASED_MAP } from '../../core/afl/released';
import { deriveDomainPackJson } from '../../core/afl/domain';
import { ROOT, shared } from '../../harness/paths';

const packsDir = join(ROOT, 'core', 'afl', 'packs');
const lastfmJson = () => JSON.parse(readFileSync(join(packsDir, 'lastfm.json'), 'utf8'));

function writePack(obj: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'afl-pack-'));
  const f = join(dir, 'pack.json');
  writeFileSync(f, JSON.stringify(obj, null, 2));
  return f;
}

function expectLocated(fn: () => unknown, file: string, key: string, line: number | null, msg: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof LocatedError, `expected LocatedError, got ${e}`);
    assert.equal(e.path, `templates.${key}`, `JSON path of: ${e.message}`);
    assert.ok(e.message.includes(`'${key}'`), `message names the template key: ${e.message}`);
    assert.ok(e.where.startsWith(file), `where names the pack file: ${e.where}`);
    if (line !== null) assert.equal(e.where, `${file}:${line}`);
    assert.match(e.message, msg);
    return;
  }
  assert.fail('no error thrown');
}

/**
 * Writes the LastFM pack as changed by `edit` and expects loading it to fail as `expectLocated` checks, at
 * the file's first line holding `lineWith` (null: the line is not checked).
 */
function expectPackError(edit: (j: any) => unknown, key: string, lineWith: string | null, msg: RegExp): void {
  const j = lastfmJson();
  edit(j);
  const f = writePack(j);
  const line =
    lineWith === null
      ? null
      : readFileSync(f, 'utf8')
          .split('\n')
          .findIndex((l) => l.includes(lineWith)) + 1;
  expectLocated(() => loadPackFile(f), f, key, line, msg);
}

test('the built-in LastFM, Steam and MovieLens packs load and validate', () => {
  for (const name of ['lastfm', 'steam', 'movielens']) {
    const p = loadPackFile(join(packsDir, `${name}.json`));
    assert.equal(p.name, name);
    assert.ok(p.templates['rec.user']!.includes('{candidates}'));
  }
});

test('Steam and MovieLens packs are the LastFM pack with the docs/methods.md §B5 word swaps (files in sync)', () => {
  for (const d of ['steam', 'movielens'] as const) {
    const onDisk = JSON.parse(readFileSync(join(packsDir, `${d}.json`), 'utf8'));
    assert.deepEqual(onDisk, deriveDomainPackJson(lastfmJson(), d));
    const text = JSON.stringify(onDisk.templates);
    assert.ok(!/music|listen/i.test(text), `${d} pack still mentions music/listen`);
  }
  const steam = loadPackFile(join(packsDir, 'steam.json'));
  assert.match(steam.templates['user.system']!, /As a game player, you've played the following games: \{history\}\./);
  const ml = loadPackFile(join(packsDir, 'movielens.json'));
  assert.match(ml.templates['rec.user']!, /This user has watched \{history\} in the previous\./);
});

test('a pack with a missing placeholder is a located error naming the file, the template key and its line', () => {
  const drop = (j: any) => (j.templates['rec.user'] = j.templates['rec.user'].filter((l: string) => !l.includes('{candidates}')));
  // located at the line of "rec.user" in the pretty-printed file
  expectPackError(drop, 'rec.user', '"rec.user"', /missing placeholder \{candidates\}/);
});

test('an unknown placeholder is located at its own line inside a line-array template', () => {
  const misspell = (j: any) => (j.templates['user.user'][3] = 'The reward model likes: {focsu}.');
  expectPackError(misspell, 'user.user', '{focsu}', /unknown placeholder \{focsu\}/);
});

test('a stray brace and an unknown template key are located errors', () => {
  const stray = (j: any) => (j.templates['rec.memoryEntry'][0] = 'In round {round}, you recommended {item} {');
  expectPackError(stray, 'rec.memoryEntry', null, /stray '\{'/);
  expectPackError((j) => (j.templates['rec.usr'] = 'x'), 'rec.usr', null, /unknown template key/);
});

test('rendering substitutes named values and drops lines whose value is absent ({?name} markers too)', () => {
  const tpl = 'A {x}\n{?y}Header for y:\n{y}\nB {{literal}}';
  assert.equal(renderTemplate(tpl, { x: '1', y: 'Y' }), 'A 1\nHeader for y:\nY\nB {literal}');
  assert.equal(renderTemplate(tpl, { x: '1', y: null }), 'A 1\nB {literal}');
  assert.throws(() => renderTemplate(tpl, { x: '1' }), /no value given for placeholder \{y\}/);
  assert.deepEqual([...placeholdersOf(tpl)].sort(), ['x', 'y']);
});

test('the default LastFM pack: round 1 shows the prior, no memory header; the ablation drops the prior line', () => {
  const p = loadPackFile(join(packsDir, 'lastfm.json'));
  const v = { history: 'A, B', numCandidates: '2', candidates: 'C, D', prior: 'C', memory: null, round: '1' };
  const msgs = renderMessages(p, 'rec.system', 'rec.user', v);
  assert.equal(msgs.length, 2);
  assert.match(msgs[1].content, /suggested a music artist for your reference: C\./);
  assert.ok(!msgs[1].content.includes('history of communication'));
  const noPrior = renderMessages(p, 'rec.system', 'rec.user', { ...v, prior: null });
  assert.ok(!noPrior[1].content.includes('suggested'));
  assert.match(noPrior[1].content, /The candidate list of 2 music artists is: C, D\./);
});

test('the released pack renders byte-exactly like Python str.format on the released templates', () => {
  const file = shared('lastfm', 'prompts_released.json');
  const raw = JSON.parse(readFileSync(file, 'utf8'));
  const pack = loadReleasedPack(file);
  for (const [relKey, { key, slots }] of Object.entries(RELEASED_MAP)) {
    const [section, name] = relKey.split('.');
    const original: string = raw[section][name];
    const args = slots.map((s, i) => `<${s}#${i} with {braces}, commas>`);
    let k = 0;
    const pyFormat = original.replace(/\{\}/g, () => args[k++]);
    // a prior is present (as in every round-1 call): the ablation markers ({?prior}) render nothing
    const values = { prior: 'P', ...Object.fromEntries(slots.map((s, i) => [s, args[i]])) };
    assert.equal(renderTemplate(pack.templates[key]!, values), pyFormat, `${relKey} -> ${key}`);
  }
});

/** The four LastFM seed templates of docs/methods.md §B5 (backticked, line-wrapped in the doc), flattened to one line each. */
function seedTemplates(): Record<'recMemory' | 'recPrompt' | 'userMemory' | 'userPrompt', string> {
  const file = join(ROOT, 'docs', 'methods.md');
  const doc = readFileSync(file, 'utf8');
  const b5 = doc.slice(doc.indexOf('### B5.'), doc.indexOf('### B6.'));
  const grab = (label: string): string => {
    const m = new RegExp(`${label}: \`([^\`]+)\``).exec(b5);
    assert.ok(m, `docs/methods.md B5 has no "${label}" template`);
    return m[1].replace(/\s*\n\s*/g, ' ');
  };
  return {
    recMemory: grab('Recommendation agent — memory'),
    recPrompt: grab('Recommendation agent — prompt'),
    userMemory: grab('User agent — memory'),
    userPrompt: grab('User agent — prompt'),
  };
}

/** A pack template flattened like the seed slide: lines joined by spaces, {?x} markers dropped, {x} -> {}. */
function flat(lines: string | string[]): string {
  return (Array.isArray(lines) ? lines : [lines]).map((l) => l.replace(/\{\?\w+\}/g, '').replace(/\{\w+\}/g, '{}')).join(' ');
}

test('default LastFM pack vs the seed text (docs/methods.md §B5): memory entries byte-exact, every prompt sentence verbatim, the one B2 rewording declared', () => {
  const seed = seedTemplates();
  const t = lastfmJson().templates;
  assert.equal(flat(t['rec.memoryEntry']), seed.recMemory, 'rec.memoryEntry (lines joined by spaces) vs the seed');
  assert.equal(flat(t['user.memoryEntry']), seed.userMemory, 'user.memoryEntry (lines joined by spaces) vs the seed');
  // the seed's tip 3 points at a score the user agent never sees (docs/methods.md §B2: focus names only, no scores)
  const tip3 = 'You can refer to the score given by the reward model.';
  const declared = new Map([[tip3, 'You can refer to the music artists suggested by the reward model.']]);
  for (const [which, keys] of [
    ['recPrompt', ['rec.system', 'rec.user']],
    ['userPrompt', ['user.system', 'user.user']],
  ] as const) {
    const pack = keys.map((k) => flat(t[k])).join(' ');
    const sentences = seed[which]
      .split('{}')
      .flatMap((part) => part.split(/(?<=[.:])\s+/))
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    assert.ok(sentences.length > 10, `${which}: ${sentences.length} sentences parsed from docs/methods.md`);
    const missing = sentences.filter((s) => !pack.includes(s) && !declared.has(s));
    assert.deepEqual(missing, [], `${which}: seed sentences not verbatim in ${keys.join(' + ')}`);
    for (const [from, to] of declared)
      if (sentences.includes(from)) {
        assert.ok(!pack.includes(from) && pack.includes(to), `${which}: the declared rewording "${from}" -> "${to}"`);
      }
  }
  assert.ok(
    lastfmJson().deviations.some((d: string) => d.includes(tip3)),
    'the pack file declares the tip-3 rewording and why',
  );
});

test('ablation prompts are consistent: without a prior no prompt speaks of another recommendation system; the pack says what each ablation removes', async () => {
  const { ablationEffects } = await import('../../core/afl/pack');
  const rel = loadReleasedPack(shared('lastfm', 'prompts_released.json'));
  const raw = JSON.parse(readFileSync(shared('lastfm', 'prompts_released.json'), 'utf8')).loop;
  const v = {
    history: 'A, B',
    numCandidates: '20',
    candidates: 'C, D',
    prior: 'P',
    focus: 'C',
    memory: null,
    round: '1',
    item: 'C',
    recReason: 'r',
  };
  // with a prior: the released text, byte for byte (the markers render nothing)
  assert.equal(renderTemplate(rel.templates['rec.system']!, v), raw.rec_system_prompt);
  for (const pack of [rel, loadPackFile(join(packsDir, 'lastfm.json'))]) {
    const noPrior = { ...v, prior: null };
    const text = [...renderMessages(pack, 'rec.system', 'rec.user', noPrior), ...renderMessages(pack, 'user.system', 'user.user', noPrior)]
      .map((m) => m.content)
      .join('\n');
    assert.doesNotMatch(text, /another recommendation (system|model)/i, `${pack.name}: w/o rec model`);
    const noFocus = renderMessages(pack, 'user.system', 'user.user', { ...v, focus: null })
      .map((m) => m.content)
      .join('\n');
    assert.doesNotMatch(noFocus, /focus on considering/i, `${pack.name}: w/o reward model`);
    const eff = ablationEffects(pack);
    assert.ok(eff['w/o rec model'].length >= 2 && eff['w/o reward model'].length >= 1, JSON.stringify(eff));
  }
  assert.deepEqual(
    ablationEffects(rel)['w/o rec model'].filter((l) => l.startsWith('rec.')),
    [
      'rec.system: Another recommendation system has provided its recommended music artist, which you can refer to.',
      'rec.user: The music artist recommended by another recommendation system is: {prior}.',
      'rec.user: Based on the above information, you can select the music artist recommended by another recommendation system or choose other music artists.',
    ],
  );
});
