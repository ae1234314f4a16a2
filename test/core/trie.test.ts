import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { shared } from '../../harness/paths';
import { loadTokenizer } from '../../core/tokenize';
import { PrefixTree, buildTrieFromRewardFile, buildRq1Trie, parseRewardJson } from '../../core/trie';
import { LocatedError } from '../../core/experiment/context';
import { charCodes } from './tinyFlower';

type Ref = Record<string, Record<string, number>>;

/** Same keys (prefix and child), max abs difference of log R_p. */
function compareReference(ours: Ref, ref: Ref): { missing: string[]; extra: string[]; maxDiff: number; worst: string } {
  const missing: string[] = [],
    extra: string[] = [];
  let maxDiff = 0,
    worst = '';
  for (const k of Object.keys(ref)) {
    if (!(k in ours)) {
      missing.push(k);
      continue;
    }
    for (const c of Object.keys(ref[k])) {
      if (!(c in ours[k])) {
        missing.push(`${k} -> ${c}`);
        continue;
      }
      const d = Math.abs(ours[k][c] - ref[k][c]);
      if (!(d <= maxDiff)) {
        maxDiff = d;
        worst = `${k} -> ${c}: ours ${ours[k][c]} ref ${ref[k][c]}`;
      }
    }
    for (const c of Object.keys(ours[k])) if (!(c in ref[k])) extra.push(`${k} -> ${c}`);
  }
  for (const k of Object.keys(ours)) if (!(k in ref)) extra.push(k);
  return { missing, extra, maxDiff, worst };
}

test('hand-built trie: flows, process rewards, contiguous sorted children, paths', () => {
  // titles "ab" (R=3), "a" (R=1), "b" (R=4): root -> a(F=4) -> {b(F=3) -> ⊤, ⊤(F=1)}, root -> b(F=4) -> ⊤
  const t = PrefixTree.build(['ab', 'a', 'b'], [3, 1, 4], charCodes);
  assert.equal(t.size, 7);
  assert.equal(t.flow[0], 8);
  const a = t.child(0, 97),
    b = t.child(0, 98);
  assert.deepEqual([a, b], [1, 2], 'root children are nodes 1,2 in token order');
  assert.equal(t.flow[a], 4);
  assert.equal(t.flow[b], 4);
  assert.equal(t.childCount[a], 2);
  const aEnd = t.child(a, 10),
    ab = t.child(a, 98);
  assert.ok(aEnd >= 0 && ab >= 0 && aEnd === t.childStart[a], 'terminal (10) sorts before "b" (98)');
  assert.equal(t.flow[ab], 3);
  assert.equal(t.flow[aEnd], 1);
  assert.ok(Math.abs(t.logRp(ab) - Math.log(3 / 4)) < 1e-15);
  assert.ok(Math.abs(t.logRp(a) - Math.log(1 / 2)) < 1e-15);
  assert.equal(t.child(a, 99), -1);
  assert.deepEqual(t.tokens(0), [97, 98, 10]);
  assert.deepEqual(t.tokens(1), [97, 10]);
  assert.equal(t.titleOf[t.leafOf[2]], 2);
  // product of R_p along the path = P*(i)
  const logP = t.path(0).reduce((s, v) => s + t.logRp(v), 0);
  assert.ok(Math.abs(logP - Math.log(3 / 8)) < 1e-15, `log P*("ab") = ${logP}`);
  for (let v = 1; v < t.size; v++) {
    assert.ok(t.parent[v] < v, 'breadth-first: parents before children');
    assert.equal(t.depth[v], t.depth[t.parent[v]] + 1);
    const c0 = t.childStart[t.parent[v]];
    assert.ok(v >= c0 && v < c0 + t.childCount[t.parent[v]], `node ${v} inside its parent's children range`);
  }
  const ref = t.exportReference();
  assert.deepEqual(Object.keys(ref).sort(), ['97', '97-98', '98', 'first']);
  assert.deepEqual(ref['97'], { 10: Math.log(1 / 4), 98: Math.log(3 / 4) });
});

test('trie: joint title end uses encode(title+"\\n") + EOS; duplicate token paths merge', () => {
  const t = PrefixTree.build(['ab', 'a'], [1, 1], charCodes, { titleEnd: 'joint' });
  assert.equal(t.terminalToken, 0);
  assert.deepEqual(t.tokens(0), [97, 98, 10, 0]);
  const d = PrefixTree.build(['x', 'x'], [2, 3], charCodes);
  assert.equal(d.leafOf[0], d.leafOf[1]);
  assert.equal(d.flow[d.leafOf[0]], 5);
  assert.deepEqual(d.merged, [[1, 0]]);
  assert.throws(() => PrefixTree.build(['a\nb'], [1], charCodes), /terminal token/);
  assert.throws(() => PrefixTree.build(['a'], [-1], charCodes), /reward/);
});

test('trie snapshot: top nodes by flow form a subtree rooted at 0 with normalised flows', () => {
  const t = PrefixTree.build(['ab', 'a', 'b', 'cde'], [3, 1, 4, 0.5], charCodes);
  const snap = t.snapshot(
    5,
    (ids) => charCodes.decode(ids),
    (v) => v / 100,
  );
  assert.equal(snap.length, 5);
  const ids = new Set(snap.map((n) => n.id));
  assert.ok(ids.has(0));
  for (const n of snap) if (n.parent >= 0) assert.ok(ids.has(n.parent), `parent of ${n.id} present`);
  assert.equal(snap.find((n) => n.id === 0)!.flow, 1);
  const bEnd = snap.find((n) => n.title === 'b');
  assert.ok(bEnd && bEnd.terminal && Math.abs(bEnd.flow - 4 / 8.5) < 1e-15 && bEnd.rp === 1);
  assert.equal(snap.find((n) => n.id === 2)!.policy, 0.02);
});

test('reward file errors are located (file:line:col)', () => {
  assert.throws(
    () => parseRewardJson('{\n "a": 1,\n "b": -2\n}', 'r.json'),
    (e: unknown) => e instanceof LocatedError && e.where === 'r.json:3:7' && /finite number/.test(e.message),
  );
  assert.throws(
    () => parseRewardJson('{\n "a": 1,\n}', 'r.json'),
    (e: unknown) => e instanceof LocatedError && /^r\.json:3:/.test(e.where),
  );
  assert.throws(
    () => parseRewardJson('[1]', 'r.json'),
    (e: unknown) => e instanceof LocatedError && /object/.test(e.message),
  );
});

for (const ds of ['CDs_and_Vinyl', 'Movies_and_TV']) {
  test(`exportReference() with qwen2.5 reproduces ${ds}/reference_trie_qwen.json (same keys, max |diff| ≤ 1e-9)`, () => {
    const tok = loadTokenizer('qwen2.5');
    const trie = buildTrieFromRewardFile(shared('amazon', ds, 'title_counts.json'), tok);
    const ref = JSON.parse(readFileSync(shared('amazon', ds, 'reference_trie_qwen.json'), 'utf8')) as Ref;
    const r = compareReference(trie.exportReference(), ref);
    assert.deepEqual(r.missing.slice(0, 5), [], `${r.missing.length} reference keys missing`);
    assert.deepEqual(r.extra.slice(0, 5), [], `${r.extra.length} keys not in the reference`);
    assert.ok(r.maxDiff <= 1e-9, `max |diff| ${r.maxDiff} at ${r.worst}`);
    assert.equal(trie.merged.length, 0);
  });
}

test('RQ1: the 100-movie trie reproduces Movies_100_token_distri_qwen2.5.json', () => {
  const tok = loadTokenizer('qwen2.5');
  const trie = buildRq1Trie(shared('movies_rq1'), tok, 100);
  assert.equal(trie.titles.length, 100);
  const ref = JSON.parse(readFileSync(shared('movies_rq1', 'Movies_100_token_distri_qwen2.5.json'), 'utf8')) as Ref;
  const r = compareReference(trie.exportReference(), ref);
  assert.deepEqual([r.missing.length, r.extra.length], [0, 0], `missing ${r.missing.slice(0, 3)} extra ${r.extra.slice(0, 3)}`);
  assert.ok(r.maxDiff <= 1e-9, `max |diff| ${r.maxDiff} at ${r.worst}`);
});

test('random token sequences: flat tree equals a naive nested-map trie (flows, children, BFS layout), both sort paths', async () => {
  const { Rng } = await import('../../core/util/random');
  for (const [seed, alphabet, bigIds] of [
    [1, 3, false],
    [2, 6, false],
    [3, 4, true],
  ] as const) {
    const rng = new Rng(seed);
    const n = 300;
    const seqs: number[][] = [];
    for (let i = 0; i < n; i++) {
      const base = i > 0 && rng.next() < 0.5 ? seqs[rng.int(i)].slice(0, -1).slice(0, 1 + rng.int(4)) : [];
      const len = base.length + rng.int(5);
      const s = base.slice(0, len);
      while (s.length < Math.max(len, 1)) s.push((bigIds ? 2 ** 30 : 0) + 1 + rng.int(alphabet));
      s.push(0); // terminal = 0
      seqs.push(s);
    }
    const rewards = seqs.map(() => 1 + rng.int(50));
    const titles = seqs.map((s, i) => `t${i}`);
    const t = PrefixTree.fromTokenIds(titles, seqs, rewards, 0);
    // naive: prefix key -> flow
    const naive = new Map<string, number>();
    seqs.forEach((s, i) => {
      for (let d = 0; d <= s.length; d++) {
        const k = s.slice(0, d).join('-');
        naive.set(k, (naive.get(k) ?? 0) + rewards[i]);
      }
    });
    assert.equal(t.size, naive.size, `seed ${seed}: node count`);
    for (let v = 0; v < t.size; v++) {
      assert.equal(t.flow[v], naive.get(t.prefix(v).join('-')), `seed ${seed}: flow of node ${v}`);
      for (let c = t.childStart[v] + 1; c < t.childStart[v] + t.childCount[v]; c++)
        assert.ok(t.token[c - 1] < t.token[c], 'children sorted');
      if (v > 0) assert.ok(t.depth[v] >= t.depth[v - 1], 'breadth-first');
    }
    seqs.forEach((s, i) => {
      assert.deepEqual(t.tokens(i), s);
      assert.equal(t.walk(s), t.leafOf[i]);
    });
    const dupes = new Map<string, number>();
    let expectMerged = 0;
    seqs.forEach((s) => {
      const k = s.join('-');
      if (dupes.has(k)) expectMerged++;
      dupes.set(k, 1);
    });
    assert.equal(t.merged.length, expectMerged);
  }
});
