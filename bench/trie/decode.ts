/**
 * Bench: constrained beam search (docs/methods.md §A7: 10 beams, 10 returned, length penalty 1,
 * max 64 tokens) on the first N test rows of Movies_and_TV with the qwen2.5 trie: ms per row and the share
 * of decode time spent computing allowed-token masks (target < 5%).
 *
 * Policy: Flowloop's TransformerPolicy (core/models/policy.ts) at the flower kind's default size, with
 * UNTRAINED (seeded) weights — decode cost does not depend on training, but which beams survive does, so
 * the mask share is indicative. A second measurement uses a zero-cost table policy (random log-probs
 * computed in an untimed first pass, then only looked up) as the worst case for the mask share.
 *
 * Incremental decoding (docs/methods.md §A6): the same rows are decoded with the policy's key/value-cache sessions
 * (what core/decode uses by default) and through `nextLogProbs` only (stateless: every step recomputes the
 * whole prefix), alternating within each repeat; `cacheSpeedup` = median over repeats of stateless / cached
 * ms per row, and `cacheSameTitles` = share of rows whose recommended lists are identical on both paths.
 *
 * Usage: node --import tsx bench/trie/decode.ts [--rows N] [--repeats N] [--device auto|cpu|wasm] — prints one JSON object.
 */
import { join, resolve } from 'node:path';
import { beamSearchScored, newDecodeStats, statelessPolicy, type DecodeStats, type StepPolicy } from '../../core/decode';
import { readEvalCsv } from '../../core/data/amazon';
import { TransformerPolicy } from '../../core/models/policy';
import { initBackend } from '../../core/tensor';
import { loadTokenizer } from '../../core/tokenize';
import { PolicyVocab } from '../../core/tokenize/policyVocab';
import { buildTrieFromRewardFile, type PrefixTree } from '../../core/trie';
import { Rng } from '../../core/util/random';
import { fmtSpread, loadAverage, recordResult, spread } from '../results';

const DATA = resolve(__dirname, '..', '..', '..', 'shared', 'data', 'amazon', 'Movies_and_TV');
const OPTS = { beams: 10, returned: 10, lengthPenalty: 1, temperature: 1, maxTokens: 64 };

/** Time constrained beam search for `histories` with a policy; rows are decoded in chunks of 40 (400 states). */
export async function measureDecode(
  policy: StepPolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  histories: number[][],
): Promise<{ msPerRow: number; maskShare: number; policyShare: number; stats: DecodeStats; titlesPerRow: number; lists: string[][] }> {
  const stats = newDecodeStats();
  const t0 = performance.now();
  let titles = 0;
  const lists: string[][] = [];
  for (let i = 0; i < histories.length; i += 40) {
    const out = await beamSearchScored(policy, trie, vocab, histories.slice(i, i + 40), { ...OPTS, stats });
    for (const r of out) {
      titles += r.length;
      lists.push(r.map((h) => h.title));
    }
  }
  const total = performance.now() - t0;
  return {
    msPerRow: total / histories.length,
    maskShare: stats.maskMs / total,
    policyShare: stats.policyMs / total,
    stats,
    titlesPerRow: titles / histories.length,
    lists,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A zero-cost policy: seeded random log-probs per state (a hash of the prefix), for the mask-share worst case. */
function tablePolicy(vocabSize: number): StepPolicy {
  const cache = new Map<string, Float32Array>();
  return {
    async nextLogProbs(h, prefixes) {
      return prefixes.map((p, i) => {
        const key = h[i][h[i].length - 1] + ':' + p.join(',');
        let lp = cache.get(key);
        if (!lp) {
          const r = new Rng(key.split('').reduce((a, c) => (a * 31 + c.charCodeAt(0)) >>> 0, 7));
          lp = new Float32Array(vocabSize);
          let z = 0;
          for (let k = 0; k < vocabSize; k++) {
            lp[k] = -3 * Math.log(r.next() + 1e-9);
            z += Math.exp(lp[k]);
          }
          const lz = Math.log(z);
          for (let k = 0; k < vocabSize; k++) lp[k] -= lz;
          cache.set(key, lp);
        }
        return lp;
      });
    },
  };
}

export async function runDecodeBench(
  opts: { rows?: number; repeats?: number; device?: 'auto' | 'cpu' | 'wasm' } = {},
): Promise<Record<string, unknown>> {
  const rows = opts.rows ?? 200;
  const repeats = opts.repeats ?? 5;
  const tok = loadTokenizer('qwen2.5');
  const trie = buildTrieFromRewardFile(join(DATA, 'title_counts.json'), tok);
  const vocab = PolicyVocab.fromTrie(trie, tok);
  const test = readEvalCsv(join(DATA, 'test.csv')).slice(0, rows);
  const histories = test.map((r) => r.historyIds.slice(-10));
  let maxId = 0;
  for (const r of test) for (const id of r.historyIds) maxId = Math.max(maxId, id);
  let maxDepth = 0;
  for (let v = 0; v < trie.size; v++) maxDepth = Math.max(maxDepth, trie.depth[v]);
  const backend = await initBackend(opts.device ?? 'auto');
  const policy = new TransformerPolicy(
    {
      vocabSize: vocab.size,
      numItems: 200000,
      dModel: 64,
      layers: 2,
      heads: 2,
      ffn: 256,
      maxHistory: 10,
      maxTokens: maxDepth,
      dropout: 0.1,
      padId: vocab.pad,
      bosId: vocab.bos,
    },
    1,
  );
  const stateless = statelessPolicy(policy);
  await measureDecode(policy, trie, vocab, histories.slice(0, 4)); // warm-up
  await measureDecode(stateless, trie, vocab, histories.slice(0, 4));
  // cached (the default path) vs stateless on the same rows, alternating which goes first
  const cachedRuns: Awaited<ReturnType<typeof measureDecode>>[] = [];
  const statelessRuns: Awaited<ReturnType<typeof measureDecode>>[] = [];
  for (let r = 0; r < repeats; r++) {
    if (r % 2 === 0) {
      statelessRuns.push(await measureDecode(stateless, trie, vocab, histories));
      cachedRuns.push(await measureDecode(policy, trie, vocab, histories));
    } else {
      cachedRuns.push(await measureDecode(policy, trie, vocab, histories));
      statelessRuns.push(await measureDecode(stateless, trie, vocab, histories));
    }
  }
  const speedups = cachedRuns.map((c, r) => statelessRuns[r].msPerRow / c.msPerRow);
  const cacheSpeedup = median(speedups);
  const medianRun = (runs: typeof cachedRuns) => [...runs].sort((a, b) => a.msPerRow - b.msPerRow)[runs.length >> 1];
  const model = medianRun(cachedRuns);
  const flat = medianRun(statelessRuns);
  const same = model.lists.filter((l, i) => l.join('\u0000') === flat.lists[i].join('\u0000')).length / rows;
  const table = tablePolicy(vocab.size);
  await measureDecode(table, trie, vocab, histories); // fills the table (untimed): the timed pass only looks states up
  const free = await measureDecode(table, trie, vocab, histories);
  const pct = (x: number) => Math.round(x * 1000) / 10;
  const cachedMs = spread(cachedRuns.map((c) => c.msPerRow));
  const statelessMs = spread(statelessRuns.map((c) => c.msPerRow));
  const speedup = spread(speedups);
  const maskPct = spread(
    cachedRuns.map((c) => c.maskShare * 100),
    2,
  );
  return {
    ratio: model.maskShare,
    cacheSpeedup,
    summary: `${repeats} alternating repeats: KV cache ${fmtSpread(cachedMs, ' ms/row')}, stateless ${fmtSpread(statelessMs, ' ms/row')}, stateless / cached ${fmtSpread(speedup, '×')}; masks ${fmtSpread(maskPct, '%')} of decode time with the cache (policy ${pct(model.policyShare)}% in the median repeat), same lists on both paths for ${pct(same)}% of rows; ${rows} Movies test rows, untrained d=64 policy on ${backend.name}; zero-cost policy: masks ${pct(free.maskShare)}% (${free.msPerRow.toFixed(2)} ms/row, one pass)`,
    protocol: `${repeats} repeats over the same ${rows} rows, each decoding them with the KV-cache sessions and with the stateless path (nextLogProbs only), alternating which goes first; one untimed warm-up of 4 rows per path; figures are min/median/max over repeats, speedup = stateless / cached ms per row within a repeat`,
    spreads: { cachedMsPerRow: cachedMs, statelessMsPerRow: statelessMs, statelessOverCached: speedup, maskSharePct: maskPct },
    rows,
    backend: `${backend.name}: ${backend.reason}`,
    model: {
      msPerRow: model.msPerRow,
      maskShare: model.maskShare,
      policyShare: model.policyShare,
      titlesPerRow: model.titlesPerRow,
      stats: model.stats,
    },
    stateless: { msPerRow: flat.msPerRow, policyShare: flat.policyShare, stats: flat.stats },
    cache: {
      speedups,
      cachedMsPerRow: cachedRuns.map((c) => c.msPerRow),
      statelessMsPerRow: statelessRuns.map((c) => c.msPerRow),
      cacheSameTitles: same,
    },
    zeroCostPolicy: { msPerRow: free.msPerRow, maskShare: free.maskShare, titlesPerRow: free.titlesPerRow, stats: free.stats },
    settings: OPTS,
    note: 'untrained policy weights (seeded): nearly uniform outputs, so near-tied beams may swap between the two paths (cacheSameTitles); mask = allowed-token sets from trie children ranges (core/decode/mask.ts)',
  };
}

if (require.main === module) {
  const loadBefore = loadAverage();
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  runDecodeBench({
    rows: arg('--rows') ? Number(arg('--rows')) : undefined,
    repeats: arg('--repeats') ? Number(arg('--repeats')) : undefined,
    device: arg('--device') as 'auto' | 'cpu' | 'wasm' | undefined,
  })
    .then((r) => recordResult('decode', loadBefore, r as unknown as Record<string, unknown>))
    .catch((e) => {
      console.log(JSON.stringify({ error: (e as Error).message }));
      process.exitCode = 1;
    });
}
