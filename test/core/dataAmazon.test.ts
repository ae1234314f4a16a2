/** Readers of Flower's Amazon datasets (docs/methods.md §A10): every file, README row counts, tricky titles, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shared } from '../../harness/paths';
import {
  AmazonDataset,
  isJunkTitle,
  loadAmazon,
  readEvalCsv,
  readGroups,
  readItemsTsv,
  readTitleCounts,
  readTrainJsonl,
} from '../../core/data/amazon';
import { LocatedError } from '../../core/data/lines';

const COUNTS: Record<string, [train: number, valid: number, test: number, items: number]> = {
  CDs_and_Vinyl: [49251, 6156, 6157, 5841],
  Video_Games: [49133, 6142, 6142, 3858],
  Movies_and_TV: [21937, 2742, 2743, 2653],
};

const cache = new Map<string, Promise<AmazonDataset>>();
const load = (name: string) => {
  if (!cache.has(name)) cache.set(name, loadAmazon(shared('amazon', name)));
  return cache.get(name)!;
};

for (const [name, [nTrain, nValid, nTest, nItems]] of Object.entries(COUNTS)) {
  test(`${name}: row counts ${nTrain}/${nValid}/${nTest} (data README), ${nItems} items, titles consistent with items.tsv`, async () => {
    const d = await load(name);
    assert.equal(d.name, name);
    assert.equal(d.train.length, nTrain);
    assert.equal(d.valid.length, nValid);
    assert.equal(d.test.length, nTest);
    assert.equal(d.catalogue.size, nItems);
    d.train.forEach((r, i) => assert.equal(r.row, i));
    // every id/title pair in every split agrees with items.tsv (so the list cells were parsed right)
    for (const r of [...d.train, ...d.valid, ...d.test]) {
      assert.equal(d.catalogue.titleOf(r.itemId), r.itemTitle, `${name} row ${r.row} target`);
      r.historyIds.forEach((id, k) => assert.equal(d.catalogue.titleOf(id), r.historyTitles[k], `${name} row ${r.row} history ${k}`));
      assert.ok(r.historyIds.length >= 1 && r.historyIds.length <= 10);
    }
    for (const r of d.test) {
      assert.equal(r.historyAsins.length, r.historyIds.length);
      assert.equal(r.historyRatings.length, r.historyIds.length);
    }
  });

  test(`${name}: title_counts.json = R(i), the history counts over train.jsonl (docs/methods.md §A2), in file order`, async () => {
    const d = await load(name);
    const R = new Map<string, number>();
    for (const r of d.train) for (const t of r.historyTitles) R.set(t, (R.get(t) ?? 0) + 1);
    assert.deepEqual([...d.titleCounts.entries()], [...R.entries()]); // same counts AND same (first-seen) order
  });

  test(`${name}: groups files: 8 groups, ids file = last items.tsv id of each group title`, async () => {
    const d = await load(name);
    assert.equal(d.groupsTitles.length, 8);
    assert.deepEqual(
      d.groupsIds.map((g) => g.length),
      d.groupsTitles.map((g) => g.length),
    );
    assert.equal(d.groupsTitles.flat().length, d.titleCounts.size);
    d.groupsTitles.forEach((g, k) =>
      g.forEach((t, j) => {
        const ids = d.catalogue.idsOf(t);
        assert.equal(d.groupsIds[k][j], ids[ids.length - 1], `group ${k} title ${JSON.stringify(t)}`);
      }),
    );
  });
}

test('CDs: duplicate titles share a catalogue entry list; the junk "<span" title is kept and 2nd most popular', async () => {
  const d = await load('CDs_and_Vinyl');
  assert.equal(d.catalogue.titles().length, 5377); // 5,841 ids, 5,377 distinct titles
  assert.ok(d.catalogue.idsOf('Greatest Hits').length > 1);
  const junk = '<span class="a-size-medium a-color-secondary a-text-normal';
  const top = [...d.titleCounts].sort((a, b) => b[1] - a[1]);
  assert.equal(top[1][0], junk);
  assert.deepEqual([...d.titleCounts.keys()].filter(isJunkTitle), [junk]); // exactly one junk title, filterable
  assert.equal(d.test[0].itemTitle, junk); // CSV "" escape inside a quoted cell
});

test('tricky real titles parse: commas, apostrophes in double-quoted literals, escaped quotes, backslashes', async () => {
  const cds = await load('CDs_and_Vinyl');
  assert.deepEqual(cds.test[0].historyTitles.slice(0, 3), [
    'Unchained Melody: Very Best Of The Righteous Brothers',
    'Hot Rocks',
    "Pure 60's: The #1 Hits",
  ]);
  assert.equal(cds.test[0].historyTitles[9], "'60s Gold");
  assert.equal(cds.test[1].itemTitle, 'Hard To Find Jukebox Classics 1964 - Rock, Rhythm & Pop');
  assert.deepEqual(cds.test[0].historyRatings, Array(10).fill(5));
  assert.equal(cds.test[0].timestamp, 1518134400);
  // csv line 5917 = data row 5915: the title with literal backslashes ('\\' in the Python literal)
  const r = cds.test[5915];
  assert.deepEqual(r.historyIds, [5167]);
  assert.equal(
    r.historyTitles[0],
    "Original Album Classics Do You Believe In Magic\\Daydream\\Hums Of Th E Lovin' Spoonful\\Everything Playing \\Revelation: Revolution'69",
  );
  const vg = await load('Video_Games');
  const persona = 'Persona 4: Dancing All Night "Disco Fever Collector\'s Edition';
  assert.equal(vg.catalogue.titleOf(3277), persona);
  assert.ok(
    vg.test.some((x) => x.historyTitles.includes(persona)),
    'a VG test history holds the Persona title (\\\' escape inside a "…" CSV cell)',
  );
});

test('loading CDs_and_Vinyl (all files) takes < 2 s of CPU', async () => {
  // CPU time, not wall time: the test box is shared (load averages of 10+ on 2 cores are common)
  const t = performance.now();
  const cpu = process.cpuUsage();
  await loadAmazon(shared('amazon', 'CDs_and_Vinyl'));
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  assert.ok(cpuMs < 2000, `loadAmazon(CDs) used ${cpuMs.toFixed(0)} ms CPU (${(performance.now() - t).toFixed(0)} ms wall)`);
});

function tmp(name: string, text: string): string {
  const f = join(mkdtempSync(join(tmpdir(), 'flowloop-amazon-')), name);
  writeFileSync(f, text);
  return f;
}

function throwsAt(fn: () => unknown, at: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof LocatedError, `expected LocatedError, got ${String(e)}`);
    assert.equal(e.where, at);
    assert.match(e.message, re);
    return true;
  });
}

const HEADER =
  'user_id,item_asins,item_asin,history_item_id,item_id,history_item_title,item_title,history_rating,rating,history_timestamp,timestamp\n';
const GOOD = `u1,"['A1', 'A2']",A3,"[1, 2]",3,"['x, y', ""it's""]",z,"[5.0, 4.0]",5.0,"[1, 2]",3\n`;

test('corrupt Amazon rows are LocatedErrors naming file:line (and the column)', () => {
  let f = tmp('test.csv', HEADER + GOOD);
  assert.deepEqual(readEvalCsv(f)[0].historyTitles, ['x, y', "it's"]);
  f = tmp('test.csv', HEADER + GOOD + GOOD.replace('[\'x, y\', ""it\'s""]', "['x, y', 'it's']"));
  throwsAt(() => readEvalCsv(f), `${f}:3`, /column history_item_title: bad Python literal/);
  f = tmp('test.csv', HEADER + GOOD + GOOD + GOOD.replace('"[1, 2]",3,', '"[1]",3,'));
  throwsAt(() => readEvalCsv(f), `${f}:4`, /history_item_title has 2 entries but history_item_id 1/);
  f = tmp('test.csv', HEADER + GOOD + 'u2,"[\'A1\']",A3\n');
  throwsAt(() => readEvalCsv(f), `${f}:3`, /expected 11 fields, got 3/);
  f = tmp('test.csv', HEADER + GOOD + GOOD.replace(',3\n', ',x\n'));
  throwsAt(() => readEvalCsv(f), `${f}:3`, /column timestamp: expected an integer/);
  f = tmp('test.csv', 'user,items\n');
  throwsAt(() => readEvalCsv(f), `${f}:1`, /expected header/);
  f = tmp('items.tsv', 'a\t0\nb\t1\nno tab here\n');
  throwsAt(() => readItemsTsv(f), `${f}:3`, /title<TAB>id/);
  f = tmp(
    'train.jsonl',
    '{"row":0,"history_item_id":[1],"item_id":2,"history_item_title":["a"],"item_title":"b"}\n{"row":1,"history_item_id":[1,2],"item_id":2,"history_item_title":["a"],"item_title":"b"}\n',
  );
  throwsAt(() => readTrainJsonl(f), `${f}:2`, /1 titles/);
  f = tmp('title_counts.json', '{\n  "a": 3,\n  "b": -1\n}');
  throwsAt(() => readTitleCounts(f), `${f}:3:8`, /non-negative/);
  f = tmp('title_counts.json', '{\n  "a": 3,\n  "b" 1\n}');
  throwsAt(() => readTitleCounts(f), `${f}:3:7`, /invalid JSON/);
  f = tmp('groups8_ids.json', '{"0": ["1", "x"]}');
  throwsAt(() => readGroups(f, 'ids'), `${f}:1:7`, /bad item id "x"/);
});
