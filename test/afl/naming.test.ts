/**
 * docs/methods.md §B7 item naming in AFL: candidate, history and target names come from their ids through the
 * catalogue (MovieLens: title minus " (year)", article to the front), not from test_candidates.jsonl,
 * whose names keep the reference's quirks. Real MovieLens and Steam files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readCandidates } from '../../core/data/candidates';
import { readMovielensItems } from '../../core/data/movielens';
import { loadRecRows, popularityCounts, priorNames } from '../../core/afl/inputs';
import { popularityPerRound } from '../../core/afl/evaluate';
import { shared } from '../../harness/paths';

test('MovieLens: every candidate, history and target name is the B7 catalogue name of its id; the quirky file names are replaced', () => {
  const dir = shared('movielens');
  const inputs = loadRecRows(dir, 'movielens', undefined, 'all', 1);
  const file = readCandidates(shared('movielens', 'test_candidates.jsonl'));
  assert.equal(inputs.rows.length, 95);
  const raw = new Map(readMovielensItems(shared('movielens', 'u.item')).map((it) => [it.id, it.rawTitle]));
  const cat = inputs.ds.catalogue;
  const notFound: string[] = [];
  for (const r of inputs.rows) {
    r.cans.forEach((id, k) => {
      if (!cat.idsOf(r.cansNames[k]).includes(id)) notFound.push(`user ${r.id} slot ${k}: ${JSON.stringify(r.cansNames[k])} (id ${id})`);
    });
    r.seq.forEach((id, k) => {
      if (cat.title(id) !== r.seqNames[k]) notFound.push(`user ${r.id} history ${k}: ${JSON.stringify(r.seqNames[k])}`);
    });
    if (cat.title(r.next) !== r.correctAnswer) notFound.push(`user ${r.id} target ${JSON.stringify(r.correctAnswer)}`);
  }
  assert.deepEqual(notFound, [], 'names not found in the catalogue under their ids');
  // what changed: exactly the slots whose file name is not the B7 name; the truncated / article quirks among them
  const changed = new Map<string, string>();
  file.forEach((r, b) =>
    r.cans.forEach((id, k) => {
      if (r.cansNames[k] !== inputs.rows[b].cansNames[k]) changed.set(r.cansNames[k], inputs.rows[b].cansNames[k]);
    }),
  );
  assert.equal(inputs.renamed, 9, `renamed slots (changed names: ${JSON.stringify([...changed])})`);
  assert.equal(changed.get('A Affair to Remembern'), 'An Affair to Remember');
  assert.equal(changed.get('Two Friends '), 'Two Friends');
  assert.equal(
    raw.get(file.flatMap((r) => r.cans.filter((_, k) => r.cansNames[k] === 'A Affair to Remembern'))[0]),
    'Affair to Remember, An (1957)',
  );
  assert.ok(
    inputs.rows.every((r, b) => r.fileCansNames.join('\u0000') === file[b].cansNames.join('\u0000')),
    'the file names are kept beside',
  );
});

test('MovieLens: the per-round popularity lookup finds every candidate by its name (it missed the quirky ones before)', () => {
  const inputs = loadRecRows(shared('movielens'), 'movielens', undefined, 'all', 1);
  const { counts } = popularityCounts(inputs.ds);
  // interaction count per id, the way popularityCounts counts (val+test histories here), merged by lower-cased name
  const byName = new Map<string, number>();
  for (const r of [...(inputs.ds.val ?? []), ...inputs.ds.test])
    for (const id of r.seq) {
      const k = inputs.ds.catalogue.titleOf(id).trim().toLowerCase();
      byName.set(k, (byName.get(k) ?? 0) + 1);
    }
  const wrong: string[] = [];
  for (const r of inputs.rows)
    for (const name of r.cansNames) {
      const outcome = [{ rounds: [{ round: 1, item: name }] }] as any;
      const got = popularityPerRound(outcome, 1, counts)[0].meanCount;
      const want = byName.get(name.trim().toLowerCase()) ?? 0;
      if (got !== want) wrong.push(`${JSON.stringify(name)}: ${got} vs ${want}`);
    }
  assert.deepEqual(wrong, []);
  // the renamed titles are seen items: their counts are found, not 0
  for (const n of ['An Affair to Remember', 'An American Werewolf in London'])
    assert.ok((counts.get(n.toLowerCase()) ?? 0) > 0, `${n} has interactions`);
  assert.equal(counts.get('a affair to remembern'), undefined);
});

test('itemNaming "reference" gives back the candidate file\'s names (MovieLens, Steam); a prior CSV in file names maps to the catalogue names', () => {
  for (const d of ['movielens', 'steam'] as const) {
    const ref = loadRecRows(shared(d), d, undefined, 'all', 1, undefined, 'reference');
    const file = readCandidates(shared(d, 'test_candidates.jsonl'));
    assert.equal(ref.renamed, 0, `${d}: reference naming renames nothing`);
    assert.deepEqual(
      ref.rows.map((r) => r.cansNames),
      file.map((r) => r.cansNames),
    );
  }
  const steam = loadRecRows(shared('steam'), 'steam', undefined, 'all', 1);
  assert.ok(steam.renamed > 0, 'Steam: the file cuts "Depths of Fear :: Knossos" at the "::"');
  assert.ok(steam.rows.some((r) => r.cansNames.includes('Depths of Fear :: Knossos')));
  const row = steam.rows.find((r) => r.fileCansNames.includes('Depths of Fear'))!;
  const csv = { label: 'csv', kind: 'csv' as const, csv: new Map([[row.id, 'Depths of Fear']]) };
  assert.deepEqual(priorNames(csv, [row], [null], 'prior.csv'), ['Depths of Fear :: Knossos']);
});
