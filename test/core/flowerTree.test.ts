/**
 * Flower's recommend-mode tree (docs/methods.md §A2/A3/A10): `treeTitles` "counted" reproduces the reference's
 * training tree exactly, "catalogue" (default) adds the catalogue titles without a count; rewards ≤ 0
 * are refused with a located error; `filterJunkTitles` removes CDs' `<span` title everywhere at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { FlowerConfig } from '../../core/experiment/configTypes';
import { LocatedError } from '../../core/experiment/context';
import { validateConfigObject } from '../../core/experiment/validate';
import { isJunkTitle, loadAmazon } from '../../core/data/amazon';
import { popularityGroups } from '../../core/metrics/popularity';
import { catalogueRewards, readPositiveRewardFile } from '../../core/flower/rewards';
import { setupRecommend, withoutJunkTitles } from '../../core/flower/setup';
import { shared } from '../../harness/paths';

const dir = mkdtempSync(join(tmpdir(), 'fl-flower-tree-'));

/** A schema-validated (defaults filled) recommend-mode flower config. */
function config(extra: Record<string, unknown>): FlowerConfig {
  const r = validateConfigObject(
    { kind: 'flower', objective: 'sft', maxTrainRows: 200, maxValidRows: 50, ...extra },
    join(dir, 'c.flowloop.json'),
    'test',
  );
  assert.deepEqual(
    r.errors.map((e) => e.message),
    [],
  );
  return r.config as FlowerConfig; // validated: the kind's schema type (as kindContext gives a kind's runner)
}

type Ref = Record<string, Record<string, number>>;
function diffReference(ours: Ref, ref: Ref): { missing: number; extra: number; maxDiff: number } {
  let missing = 0,
    extra = 0,
    maxDiff = 0;
  for (const k of Object.keys(ref)) {
    if (!(k in ours)) {
      missing++;
      continue;
    }
    for (const c of Object.keys(ref[k])) {
      if (!(c in ours[k])) missing++;
      else maxDiff = Math.max(maxDiff, Math.abs(ours[k][c] - ref[k][c]));
    }
    for (const c of Object.keys(ours[k])) if (!(c in ref[k])) extra++;
  }
  for (const k of Object.keys(ours)) if (!(k in ref)) extra++;
  return { missing, extra, maxDiff };
}

test('catalogueRewards: "catalogue" fills titles without a reward with minReward, "counted" keeps only rewarded titles; a 0 reward throws naming the title', () => {
  const r = { titles: ['a', 'b', 'x'], rewards: Float64Array.from([3, 2, 5]) };
  const cat = catalogueRewards(['a', 'b', 'c'], r, 0.5);
  assert.deepEqual([cat.titles, [...cat.rewards], cat.filled, cat.unreachable], [['a', 'b', 'c', 'x'], [3, 2, 0.5, 5], 1, []]);
  const cnt = catalogueRewards(['a', 'b', 'c'], r, 0.5, 'counted');
  assert.deepEqual([cnt.titles, [...cnt.rewards], cnt.filled, cnt.unreachable], [['a', 'b', 'x'], [3, 2, 5], 0, ['c']]);
  const zero = { titles: ['a', 'b'], rewards: Float64Array.from([3, 0]) };
  for (const mode of ['catalogue', 'counted'] as const) {
    assert.throws(
      () => catalogueRewards(['a', 'b'], zero, 1, mode, 'r.json'),
      /reward of "b" in r\.json is 0/,
      `${mode}: a zero reward must not become minReward`,
    );
  }
});

test('a user reward file with a 0 reward is a LocatedError at file:line:col naming the title (not silently 1); negative too', () => {
  const f = join(dir, 'zero.json');
  writeFileSync(f, '{\n  "Alpha": 4,\n  "Beta": 0\n}\n');
  assert.throws(
    () => readPositiveRewardFile(f),
    (e: unknown) => {
      assert.ok(e instanceof LocatedError, `not a LocatedError: ${e}`);
      assert.equal(e.where, `${f}:3:11`);
      assert.match(e.message, /"Beta" is 0/);
      return true;
    },
  );
  writeFileSync(f, '{\n  "Alpha": -4\n}\n');
  assert.throws(
    () => readPositiveRewardFile(f),
    (e: unknown) => e instanceof LocatedError && e.where === `${f}:2:12` && /"Alpha"/.test(e.message),
  );
  writeFileSync(f, '{"Alpha": 4, "Beta": 0.25}');
  assert.deepEqual([...readPositiveRewardFile(f).rewards], [4, 0.25]);
});

test('recommend setup with a {title: reward} file holding a 0: the run setup fails with the located error', async () => {
  const ds = shared('amazon', 'Movies_and_TV');
  const f = join(dir, 'movies-rewards.json');
  writeFileSync(f, JSON.stringify({ 'The Transporter Refueled': 2, '2010: Moby Dick': 0 }, null, 1));
  await assert.rejects(
    setupRecommend(config({ dataset: ds, rewards: f }), (p) => resolve(dir, p)),
    (e: unknown) => {
      assert.ok(e instanceof LocatedError, `not a LocatedError: ${e}`);
      assert.equal(e.where, `${f}:3:21`); // the 0 of ` "2010: Moby Dick": 0`
      assert.match(e.message, /"2010: Moby Dick" is 0/);
      return true;
    },
  );
});

test('CDs: treeTitles "counted" reproduces reference_trie_qwen.json exactly; the default "catalogue" adds the 13 titles without a count', async () => {
  const ds = shared('amazon', 'CDs_and_Vinyl');
  const ref = JSON.parse(readFileSync(join(ds, 'reference_trie_qwen.json'), 'utf8')) as Ref;
  const counted = await setupRecommend(config({ dataset: ds, treeTitles: 'counted' }), (p) => p);
  const d = diffReference(counted.trie.exportReference(), ref);
  assert.deepEqual([d.missing, d.extra], [0, 0], `counted tree vs reference: ${d.missing} keys missing, ${d.extra} extra`);
  assert.ok(d.maxDiff <= 1e-12, `max |log R_p diff| ${d.maxDiff}`);
  assert.equal(counted.trie.titles.length, 5364);
  assert.ok(
    counted.notes.some((n) => /13 catalogue titles without one cannot be generated/.test(n)),
    counted.notes.join('\n'),
  );
  const cat = await setupRecommend(config({ dataset: ds }), (p) => p);
  assert.equal(cat.trie.titles.length, 5377, 'default tree = every catalogue title');
  const dc = diffReference(cat.trie.exportReference(), ref);
  assert.ok(dc.extra > 0, 'the catalogue tree is NOT the reference training tree (extra nodes)');
  for (const t of ['Wheelhouse', 'Dopethrone', 'Hoodoo']) {
    assert.ok(cat.titleIndex.has(t), `${t} reachable in the catalogue tree`);
    assert.ok(!counted.titleIndex.has(t), `${t} absent from the counted tree`);
  }
});

test('CDs filterJunkTitles (default off): the <span title leaves catalogue, tree, rewards, groups, training targets, histories and eval rows', async () => {
  const dsDir = shared('amazon', 'CDs_and_Vinyl');
  const raw = await loadAmazon(dsDir);
  const junk = raw.catalogue.titles().filter(isJunkTitle);
  assert.equal(junk.length, 1, 'CDs has exactly one junk title');
  const junkIds = new Set(raw.catalogue.idsOf(junk[0]));
  const kept = await setupRecommend(config({ dataset: dsDir, maxTrainRows: 0, maxValidRows: 0, maxTestRows: 0 }), (p) => p);
  assert.ok(kept.titleIndex.has(junk[0]), 'default keeps the junk title (docs/methods.md §A10: the reference does)');
  assert.ok(
    kept.test.some((r) => isJunkTitle(r.itemTitle)),
    'default decodes junk-target test rows',
  );

  const f = await setupRecommend(
    config({ dataset: dsDir, filterJunkTitles: true, maxTrainRows: 0, maxValidRows: 0, maxTestRows: 0 }),
    (p) => p,
  );
  assert.ok(!f.trie.titles.some(isJunkTitle), 'no junk title in the tree');
  assert.equal(f.trie.titles.length, 5376);
  const fds = f.dataset!;
  assert.ok(!fds.catalogue.titles().some(isJunkTitle) && ![...fds.titleCounts.keys()].some(isJunkTitle), 'catalogue and counts clean');
  assert.ok(!fds.groupsTitles.flat().some(isJunkTitle), 'popularity groups clean');
  assert.deepEqual(
    fds.groupsTitles.map((g) => g.length),
    popularityGroups(fds.titleCounts, 8).groups.map((g) => g.length),
  );
  assert.equal(f.train.length, raw.train.length - 501, 'training rows with a junk target dropped (501 on CDs)');
  const junkNode = (id: number) => junkIds.has(id);
  assert.ok(!f.train.some((e) => e.history.some(junkNode)), 'no junk id in training histories');
  assert.ok(
    !f.test.some((r) => isJunkTitle(r.itemTitle) || r.historyIds.some(junkNode) || r.historyTitles.some(isJunkTitle)),
    'test rows: no junk target or history item',
  );
  assert.equal(f.test.length, raw.test.length - 87, 'test rows with a junk target are not decoded (87 on CDs)');
  assert.equal(f.validRows.length, raw.valid.length - 33);
  // test rows keep their test.csv numbering (recommendations.jsonl and scoring index by it)
  for (const r of f.test.slice(0, 50)) assert.equal(fds.test[r.row].itemTitle, r.itemTitle, `row ${r.row}`);
  assert.equal(fds.test.length, raw.test.length);
  const h = f.test.find((r) => raw.test[r.row].historyTitles.some(isJunkTitle))!;
  assert.deepEqual(
    h.historyTitles,
    raw.test[h.row].historyTitles.filter((t) => !isJunkTitle(t)),
  );
  // with maxTestRows the first N kept rows
  const small = await setupRecommend(config({ dataset: dsDir, filterJunkTitles: true, maxTestRows: 300 }), (p) => p);
  assert.equal(small.test.length, 300);
  assert.ok(!small.test.some((r) => isJunkTitle(r.itemTitle)));
});

test('withoutJunkTitles on a dataset without junk changes nothing', async () => {
  const raw = await loadAmazon(shared('amazon', 'Movies_and_TV'));
  const f = withoutJunkTitles(raw);
  assert.deepEqual([f.removed.titles.length, f.removed.trainRows, f.removed.historyEntries], [0, 0, 0]);
  assert.equal(f.dataset.train.length, raw.train.length);
  assert.equal(f.dataset.catalogue.size, raw.catalogue.size);
});
