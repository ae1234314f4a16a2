import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { shared } from '../../harness/paths';
import { loadTokenizer } from '../../core/tokenize';
import { PolicyVocab } from '../../core/tokenize/policyVocab';
import { PrefixTree } from '../../core/trie';
import { beamSearch, beamSearchScored, newDecodeStats, sampleTitles, type StepPolicy } from '../../core/decode';
import { Rng } from '../../core/util/random';
import { charCodes } from './tinyFlower';

/** A StepPolicy from a function prefix(tokenizer text) -> {char: prob}; the rest of the mass goes to pad. */
function tablePolicy(vocab: PolicyVocab, table: (prefix: string) => Record<string, number>): StepPolicy & { calls: number } {
  const p = {
    calls: 0,
    async nextLogProbs(_h: number[][], prefixes: number[][]) {
      p.calls++;
      return prefixes.map((pre) => {
        const text = charCodes.decode(vocab.decode(pre));
        const probs = table(text);
        const out = new Float32Array(vocab.size).fill(Math.log(1e-9));
        let rest = 1;
        for (const [ch, q] of Object.entries(probs)) {
          out[vocab.toPolicy(ch.charCodeAt(0))] = Math.log(q);
          rest -= q;
        }
        out[vocab.pad] = Math.log(Math.max(rest, 1e-9));
        return out;
      });
    },
  };
  return p;
}

test('beam search: length penalty 0 vs 1 reorders a short and a long title as computed by hand', async () => {
  const trie = PrefixTree.build(['a', 'bcd'], [1, 1], charCodes);
  const vocab = PolicyVocab.fromTrie(trie, charCodes);
  // root: a .3, b .2, c .4 (invalid at the root: "c" starts no title); "a": ⊤ .5; "b": c .9; "bc": d .9; "bcd": ⊤ .9
  const policy = tablePolicy(
    vocab,
    (pre) =>
      (
        ({ '': { a: 0.3, b: 0.2, c: 0.4 }, a: { '\n': 0.5 }, b: { c: 0.9 }, bc: { d: 0.9 }, bcd: { '\n': 0.9 } }) as Record<
          string,
          Record<string, number>
        >
      )[pre] ?? {},
  );
  const sumA = Math.log(0.3) + Math.log(0.5); // -1.897, 2 tokens incl. terminal
  const sumB = Math.log(0.2) + 3 * Math.log(0.9); // -1.925, 4 tokens incl. terminal
  const opts = { beams: 2, returned: 2, temperature: 1, maxTokens: 64 };
  const d3 = await beamSearchScored(policy, trie, vocab, [[]], { ...opts, lengthPenalty: 0 });
  assert.deepEqual(
    d3[0].map((h) => h.title),
    ['a', 'bcd'],
    'penalty 0: raw sums, -1.897 > -1.925',
  );
  assert.ok(Math.abs(d3[0][0].score - sumA) < 1e-6 && Math.abs(d3[0][1].score - sumB) < 1e-6, `scores ${d3[0].map((h) => h.score)}`);
  const lp1 = await beamSearchScored(policy, trie, vocab, [[]], { ...opts, lengthPenalty: 1 });
  assert.deepEqual(
    lp1[0].map((h) => h.title),
    ['bcd', 'a'],
    'penalty 1: -1.925/4 = -0.481 > -1.897/2 = -0.949',
  );
  assert.ok(
    Math.abs(lp1[0][0].score - sumB / 4) < 1e-6 && Math.abs(lp1[0][1].score - sumA / 2) < 1e-6,
    `scores ${lp1[0].map((h) => h.score)}`,
  );
  assert.deepEqual(lp1[0][0].tokens, vocab.encode(trie.tokens(1)));
  // temperature 2: log softmax(log p / 2) over the FULL vocabulary (pad keeps the rest of the mass)
  const t2 = await beamSearchScored(policy, trie, vocab, [[]], { ...opts, lengthPenalty: 0, temperature: 2 });
  // ps lists every token given mass, pad included; the others hold 1e-9 each
  const lse = (ps: number[]) => Math.log(ps.reduce((s, q) => s + Math.sqrt(q), 0) + (vocab.size - ps.length) * Math.sqrt(1e-9));
  const rootZ = lse([0.3, 0.2, 0.4, 0.1]);
  const expectA = 0.5 * Math.log(0.3) - rootZ + 0.5 * Math.log(0.5) - lse([0.5, 0.5]);
  const a = t2[0].find((h) => h.title === 'a')!;
  assert.ok(Math.abs(a.score - expectA) < 1e-5, `T=2 score of "a" ${a.score} vs hand ${expectA}`);
});

test('beam search with beams ≥ #titles equals brute-force ranking of every title; stats are filled', async () => {
  const titles = ['ab', 'abc', 'b', 'ba', 'bb', 'c', 'cab', 'ca'];
  const trie = PrefixTree.build(
    titles,
    titles.map(() => 1),
    charCodes,
  );
  const vocab = PolicyVocab.fromTrie(trie, charCodes);
  // deterministic pseudo-random distribution per prefix, with mass also on invalid tokens
  const table = (pre: string) => {
    const r = new Rng([...pre].reduce((h, c) => h * 31 + c.charCodeAt(0), 7));
    const ps: Record<string, number> = {};
    let z = 0;
    for (const ch of ['a', 'b', 'c', '\n']) {
      ps[ch] = r.next() + 0.05;
      z += ps[ch];
    }
    for (const ch of Object.keys(ps)) ps[ch] = (ps[ch] / z) * 0.95;
    return ps;
  };
  const policy = tablePolicy(vocab, table);
  const exact = (t: string, pen: number) => {
    let s = 0;
    const seq = t + '\n';
    for (let i = 0; i < seq.length; i++) s += Math.log(Math.fround(table(seq.slice(0, i))[seq[i]]));
    return pen === 0 ? s : s / Math.pow(seq.length, pen);
  };
  for (const pen of [0, 1]) {
    const stats = newDecodeStats();
    const got = await beamSearchScored(policy, trie, vocab, [[1], [2]], {
      beams: 8,
      returned: 5,
      lengthPenalty: pen,
      temperature: 1,
      maxTokens: 64,
      stats,
    });
    const want = [...titles].sort((x, y) => exact(y, pen) - exact(x, pen)).slice(0, 5);
    for (const row of got) {
      assert.deepEqual(
        row.map((h) => h.title),
        want,
        `penalty ${pen}`,
      );
      for (const h of row) assert.ok(Math.abs(h.score - exact(h.title, pen)) < 1e-5);
    }
    assert.ok(stats.steps >= 3 && stats.states > 0 && stats.maskMs >= 0 && stats.policyMs > 0);
  }
});

test('beam search on the 100-movie trie (word tokenizer): 10 distinct catalogue titles per row, never an invalid token', async () => {
  const counts = JSON.parse(readFileSync(shared('movies_rq1', 'select_100_Movies.json'), 'utf8')) as Record<string, number>;
  const titles = Object.keys(counts);
  const tok = loadTokenizer('word', titles);
  const trie = PrefixTree.build(titles, Object.values(counts), tok);
  const vocab = PolicyVocab.fromTrie(trie, tok);
  // a policy that puts most mass on a fixed "wrong" token and hashes the rest: constrained decoding must ignore it
  const wrong = vocab.toPolicy(tok.encode(' the')[0]);
  const policy: StepPolicy = {
    async nextLogProbs(h, prefixes) {
      return prefixes.map((pre, i) => {
        const r = new Rng(pre.reduce((a, b) => a * 131 + b, 17 + h[i][0]));
        const out = new Float32Array(vocab.size);
        let z = 0;
        for (let k = 0; k < out.length; k++) {
          out[k] = r.next();
          z += out[k];
        }
        out[wrong] = z * 4;
        z += z * 4;
        for (let k = 0; k < out.length; k++) out[k] = Math.log(out[k] / z);
        return out;
      });
    },
  };
  const set = new Set(titles);
  for (const [pen, temperature] of [
    [1, 1],
    [0, 1],
    [1, 1.5],
  ]) {
    const recs = await beamSearch(policy, trie, vocab, [[3], [5], [8]], {
      beams: 10,
      returned: 10,
      lengthPenalty: pen,
      temperature,
      maxTokens: 64,
    });
    for (const row of recs) {
      assert.equal(row.length, 10);
      assert.equal(new Set(row).size, 10, 'distinct');
      for (const t of row) assert.ok(set.has(t), `not a catalogue title: ${JSON.stringify(t)}`);
    }
  }
});

test('sampling: a policy equal to the process rewards samples titles with frequencies ≈ P*(i); seeded', async () => {
  const titles = ['ab', 'a', 'b', 'cde'];
  const rewards = [3, 1, 4, 2];
  const trie = PrefixTree.build(titles, rewards, charCodes);
  const vocab = PolicyVocab.fromTrie(trie, charCodes);
  const flowPolicy: StepPolicy = {
    async nextLogProbs(_h, prefixes) {
      return prefixes.map((pre) => {
        const node = trie.walk(vocab.decode(pre));
        const out = new Float32Array(vocab.size).fill(Math.log(0.5 / vocab.size)); // invalid tokens get mass too
        for (let c = trie.childStart[node]; c < trie.childStart[node] + trie.childCount[node]; c++)
          out[vocab.toPolicy(trie.token[c])] = Math.log(0.5) + trie.logRp(c);
        return out;
      });
    },
  };
  const N = 2000;
  const s = await sampleTitles(flowPolicy, trie, vocab, [[0], [1]], { temperature: 1, rng: new Rng(5), count: N / 2 });
  assert.equal(s.length, N);
  assert.equal(s[0].row, 0);
  assert.equal(s[N - 1].row, 1);
  const freq = new Array(titles.length).fill(0);
  for (const x of s) {
    freq[x.titleIndex]++;
    assert.deepEqual(vocab.decode(x.tokens), trie.tokens(x.titleIndex));
    assert.deepEqual(x.nodes, trie.path(x.titleIndex));
  }
  for (let i = 0; i < titles.length; i++) {
    const p = rewards[i] / 10;
    assert.ok(Math.abs(freq[i] / N - p) < 4 * Math.sqrt((p * (1 - p)) / N), `${titles[i]}: ${freq[i] / N} vs ${p}`);
  }
  const again = await sampleTitles(flowPolicy, trie, vocab, [[0], [1]], { temperature: 1, rng: new Rng(5), count: N / 2 });
  assert.deepEqual(
    again.map((x) => x.titleIndex),
    s.map((x) => x.titleIndex),
    'same seed, same samples',
  );
  // high temperature flattens towards uniform over children: "a"-subtree (2 titles) vs "b" vs "c"
  const hot = await sampleTitles(flowPolicy, trie, vocab, [[0]], { temperature: 1000, rng: new Rng(1), count: 3000 });
  const cde = hot.filter((x) => titles[x.titleIndex] === 'cde').length / 3000;
  assert.ok(Math.abs(cde - 1 / 3) < 0.04, `T→∞: P(cde) ≈ 1/3, got ${cde}`);
});
