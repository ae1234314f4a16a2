/** docs/methods.md §A9 metrics: hand-computed values on a crafted fixture, CDs g_d, released groups, KL/JS, CLI. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, shared } from '../../harness/paths';
import { loadAmazon } from '../../core/data/amazon';
import {
  coverage,
  groupUnfairness,
  hitNdcg,
  jsDivergence,
  klDivergence,
  popularityGroups,
  scoreRecommendations,
  ttr,
  wordEntropy,
} from '../../core/metrics';
import { main, readRecommendations } from '../../core/cli/metrics';

const FIX = join(ROOT, 'test', 'fixtures', 'metrics');
const close = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected} (±${tol})`);

/*
 * Fixture test/fixtures/metrics/dataset (an Amazon-format folder) — 11 titles:
 *   A "Greatest Hits" (ids 0 and 11: a duplicate title)  B "Hits Live"  C "Live at Leeds"  D "Blue"
 *   E "Kind of Blue"  F "Abbey Road"  G "Let It Be"  H "Rock, Rhythm & Pop"  I "Pure 60's: The #1 Hits"
 *   J 'Say "Hi"'  K 'Odd, "Quoted" O'Title' (never in a training history).
 * train.jsonl histories: ABCDEFGHIJ, ABCDEFGH, ABCDEF, ABCDE, ABCD, ABC, AB, A, A →
 *   R = A9 B7 C6 D5 E4 F3 G2 H2 I1 J1 (ΣR = 40; 10 titles → 10 % 8 = 2 groups of 2, six of 1;
 *   tie G/H and I/J broken by file order):
 *   G0 {A,B} 16  G1 {C,D} 11  G2 {E} 4  G3 {F} 3  G4 {G} 2  G5 {H} 2  G6 {I} 1  G7 {J} 1
 *   g_d = [.4, .275, .1, .075, .05, .05, .025, .025]
 * test.csv targets: row0 C, row1 K, row2 A.   recs.jsonl:
 *   row0 A B C D E F G H I J   → C at rank 2
 *   row1 A B C D E F G H I K   → K at rank 9
 *   row2 A C E G I K B D F H   → A at rank 0
 * HR@1 = 1/3; HR@3 = HR@5 = 2/3; HR@10 = 3/3 = 1.
 * NDCG@1 = 1/3; NDCG@3 = NDCG@5 = (1/log2(4) + 1)/3 = 1.5/3 = 0.5;
 * NDCG@10 = (0.5 + 1/log2(11) + 1)/3 = (0.5 + 0.2890648 + 1)/3 = 0.5963549.
 * Slots (30): G0 2+2+2=6, G1 6, G2..G6 3 each, G7 1 (J only in row0), ungrouped K 2.
 *   g_r = [6,6,3,3,3,3,3,1]/30 = [.2, .2, .1, .1, .1, .1, .1, .033333]
 *   g_r − g_d = [−.2, −.075, 0, .025, .05, .05, .075, .008333]
 *   DGU = .075 − (−.2) = 0.275;  MGU = (.2+.075+0+.025+.05+.05+.075+.008333)/8 = .483333/8 = 0.0604167
 * Words (whitespace split, 30 slots): A..I appear 3 times each, J once, K twice →
 *   18 words ×3 (Greatest at Leeds Kind of Abbey Road Let It Be "Rock," Rhythm & Pop Pure "60's:" The #1),
 *   Hits 9 (A,B,I), Live 6 (B,C), Blue 6 (D,E), Say 1, '"Hi"' 1, "Odd," 2, '"Quoted"' 2, "O'Title" 2
 *   total 54+21+2+6 = 83 words, 26 distinct → TTR = 26/83 = 0.3132530
 *   H = log2 83 − (54·log2 3 + 9·log2 9 + 2·6·log2 6 + 3·2·log2 2)/83
 *     = 6.3750394 − (85.587975 + 28.529325 + 31.01955 + 6)/83 = 6.3750394 − 1.8209259 = 4.5541135
 * distinct titles = 11.
 */
test('fixture: HR/NDCG/DGU/MGU/H/TTR/distinct equal the hand computation', async () => {
  const d = await loadAmazon(join(FIX, 'dataset'));
  const { recs, errors } = readRecommendations(join(FIX, 'recs.jsonl'), d.test.length);
  assert.deepEqual(errors, []);
  const s = scoreRecommendations(recs, d);
  const hand: Record<string, number> = {
    'hr@1': 1 / 3,
    'hr@3': 2 / 3,
    'hr@5': 2 / 3,
    'hr@10': 1,
    'ndcg@1': 1 / 3,
    'ndcg@3': 0.5,
    'ndcg@5': 0.5,
    'ndcg@10': 0.5963549,
    dgu: 0.275,
    mgu: 0.0604167,
    entropy: 4.5541135,
    ttr: 0.313253,
    distinct: 11,
    rows: 3,
  };
  assert.deepEqual(Object.keys(s), Object.keys(hand));
  for (const [k, v] of Object.entries(hand)) close((s as unknown as Record<string, number>)[k], v, 1e-6, k);
  const g = popularityGroups(d.titleCounts, 8);
  const u = groupUnfairness(
    recs.map((r) => r.titles),
    g,
  );
  [0.4, 0.275, 0.1, 0.075, 0.05, 0.05, 0.025, 0.025].forEach((x, i) => close(u.gd[i], x, 1e-12, `g_d[${i}]`));
  [0.2, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 1 / 30].forEach((x, i) => close(u.gr[i], x, 1e-12, `g_r[${i}]`));
  close(u.ungrouped, 2 / 30, 1e-12, 'ungrouped');
  assert.deepEqual(g.groups, d.groupsTitles); // the fixture's groups file was written by the same rule
});

test('HR/NDCG: rank conventions (first occurrence, 1/log2(rank+2), miss = 0, K cut-off)', () => {
  const m = hitNdcg([['x', 'a', 'a'], ['b'], ['c', 'd', 'e', 'f', 'g', 'h']], ['a', 'z', 'h'], [1, 3, 5, 10]);
  // row0: a at rank 1 → 1/log2 3 = 0.6309298 for K ≥ 3; row1 miss; row2 h at rank 5 → 1/log2 7 = 0.3562072 for K = 10
  close(m['hr@1'], 0, 0, 'hr@1');
  close(m['hr@3'], 1 / 3, 1e-12, 'hr@3');
  close(m['hr@5'], 1 / 3, 1e-12, 'hr@5');
  close(m['hr@10'], 2 / 3, 1e-12, 'hr@10');
  close(m['ndcg@3'], 0.6309298 / 3, 1e-7, 'ndcg@3');
  close(m['ndcg@10'], (0.6309298 + 0.3562072) / 3, 1e-7, 'ndcg@10');
  assert.throws(() => hitNdcg([['a']], []), /1 lists but 0 targets/);
});

test('diversity: entropy and TTR of a tiny list by hand', () => {
  // words: a a b c → p = (.5,.25,.25): H = .5·1 + 2·.25·2 = 1.5 bits; TTR = 3/4
  close(wordEntropy(['a a', ' b  c ']), 1.5, 1e-12, 'H');
  close(ttr(['a a', 'b c']), 0.75, 1e-12, 'TTR');
  assert.equal(wordEntropy([]), 0);
  assert.equal(ttr(['   ']), 0);
});

test('CDs: g_d = docs/methods.md §A9 [.4292 .1707 .1181 .0909 .0712 .0564 .0413 .0221]; computed groups = groups8_titles.json', async () => {
  const d = await loadAmazon(shared('amazon', 'CDs_and_Vinyl'));
  const g = popularityGroups(d.titleCounts, 8);
  [0.4292, 0.1707, 0.1181, 0.0909, 0.0712, 0.0564, 0.0413, 0.0221].forEach((x, i) => close(g.gd[i], x, 1e-4, `g_d[${i}]`));
  // the released groups file is exactly our grouping (stable sort by R desc, ties in title_counts order,
  // 5,364 titles → 4 groups of 671 then 4 of 670), list order included
  assert.deepEqual(
    g.groups.map((x) => x.length),
    [671, 671, 671, 671, 670, 670, 670, 670],
  );
  assert.deepEqual(g.groups, d.groupsTitles);
  // a most-popular baseline (the same top-10 titles for every row) puts every slot in group 0:
  // g_r = [1,0,…] → DGU = (1 − .4292) − (0 − .1707) = .7415 (to rounding of g_d), MGU = 2·(1 − .4292)/8
  const top10 = g.groups[0].slice(0, 10);
  const s = scoreRecommendations(
    d.test.map((_, row) => ({ row, titles: top10 })),
    d,
  );
  close(s.dgu, 1 - g.gd[0] + g.gd[1], 1e-12, 'DGU');
  close(s.dgu, 0.7415, 2e-4, 'DGU vs rounded g_d');
  close(s.mgu, (2 * (1 - g.gd[0])) / 8, 1e-12, 'MGU');
  assert.equal(s.distinct, 10);
  assert.equal(s.rows, 6157);
});

for (const name of ['Video_Games', 'Movies_and_TV']) {
  test(`${name}: computed popularity groups = groups8_titles.json`, async () => {
    const d = await loadAmazon(shared('amazon', name));
    assert.deepEqual(popularityGroups(d.titleCounts, 8).groups, d.groupsTitles);
  });
}

test('KL/JS/coverage on hand-computed counts, zero handling', () => {
  const p = { a: 2, b: 2 }; // (.5, .5)
  const q = { a: 3, b: 1 }; // (.75, .25)
  // KL(p‖q) = .5 ln(.5/.75) + .5 ln(.5/.25) = .5(−0.4054651) + .5(0.6931472) = 0.1438410
  close(klDivergence(p, q, { eps: 0 }), 0.143841, 1e-7, 'KL(p||q)');
  // KL(q‖p) = .75 ln 1.5 + .25 ln .5 = 0.3040988 − 0.1732868 = 0.1308121
  close(klDivergence(q, p, { eps: 0 }), 0.1308121, 1e-7, 'KL(q||p)');
  close(klDivergence(p, q, { eps: 0, base: 2 }), 0.143841 / Math.LN2, 1e-7, 'KL bits');
  // m = (.625, .375): JS = ½[.5 ln(.5/.625) + .5 ln(.5/.375)] + ½[.75 ln(.75/.625) + .25 ln(.25/.375)]
  //   = ½[−0.1115718 + 0.1438410] + ½[0.1367412 − 0.1013663] = 0.0161346 + 0.0176874 = 0.0338221
  close(jsDivergence(p, q), 0.0338221, 2e-7, 'JS');
  // zeros: a title the generator never produced → Infinity exactly, ≈ .5·ln(.5/ε) with the default ε = 1e-10
  const gen = { a: 4 };
  assert.equal(klDivergence(p, gen, { eps: 0 }), Infinity);
  close(klDivergence(p, gen), 0.5 * Math.log(0.5 / 1e-10) + 0.5 * Math.log(0.5), 1e-6, 'KL smoothed');
  close(klDivergence(gen, p), Math.log(2), 1e-6, 'KL(gen||p) ignores zero-probability titles of gen');
  close(jsDivergence({ a: 1 }, { b: 1 }), Math.LN2, 1e-12, 'JS of disjoint = ln 2');
  assert.equal(klDivergence(p, p), 0);
  assert.equal(coverage({ a: 1, b: 1, c: 0 }, { a: 5, d: 1 }), 0.5);
});

function capture(): { out: string[]; err: string[]; restore: () => void } {
  const out: string[] = [];
  const err: string[] = [];
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => {
    out.push(String(s));
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => {
    err.push(String(s));
    return true;
  }) as typeof process.stderr.write;
  return {
    out,
    err,
    restore: () => {
      process.stdout.write = o;
      process.stderr.write = e;
    },
  };
}

test('CLI `flowloop metrics`: one JSON object on the fixture; located errors and exit 2 on bad lines', async () => {
  let c = capture();
  let rc: number;
  try {
    rc = await main(['metrics', '--recommendations', join(FIX, 'recs.jsonl'), '--dataset', join(FIX, 'dataset')]);
  } finally {
    c.restore();
  }
  assert.equal(rc, 0, c.err.join(''));
  const obj = JSON.parse(c.out.join(''));
  assert.deepEqual(Object.keys(obj), [
    'hr@1',
    'hr@3',
    'hr@5',
    'hr@10',
    'ndcg@1',
    'ndcg@3',
    'ndcg@5',
    'ndcg@10',
    'dgu',
    'mgu',
    'entropy',
    'ttr',
    'distinct',
    'rows',
  ]);
  close(obj.dgu, 0.275, 1e-12, 'cli dgu');

  const dir = mkdtempSync(join(tmpdir(), 'flowloop-metrics-'));
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(
    bad,
    [
      '{"row": 0, "titles": ["Blue"]}',
      '{"row": 1, "titles": ["Blue"',
      '{"row": 7, "titles": ["Blue"]}',
      '{"row": 2, "titles": ["Blue", 3]}',
      '',
      '{"row": 0, "titles": ["Blue"]}',
      '{"titles": ["Blue"]}',
    ].join('\n'),
  );
  c = capture();
  try {
    rc = await main(['--recommendations', bad, '--dataset', join(FIX, 'dataset')]);
  } finally {
    c.restore();
  }
  assert.equal(rc, 2);
  assert.equal(c.out.join(''), '');
  const lines = c.err.join('').trim().split('\n');
  assert.deepEqual(
    lines.map((l) => l.slice(0, l.indexOf(': '))),
    [`${bad}:2`, `${bad}:3 ($.row)`, `${bad}:4 ($.titles[1])`, `${bad}:6 ($.row)`, `${bad}:7 ($.row)`],
  );
  assert.match(lines[1], /outside the split's rows 0\.\.2/);
  assert.match(lines[3], /already scored at line 1/);
  assert.ok(!c.err.join('').includes('    at '), 'no stack trace');

  c = capture();
  try {
    rc = await main(['--recommendations', bad]);
  } finally {
    c.restore();
  }
  assert.equal(rc, 2);
  assert.match(c.err.join(''), /--dataset are required/);
  c = capture();
  try {
    rc = await main(['--recommendations', join(FIX, 'recs.jsonl'), '--dataset', dir]);
  } finally {
    c.restore();
  }
  assert.equal(rc, 2);
  assert.match(c.err.join(''), /items\.tsv: cannot open/);
});
