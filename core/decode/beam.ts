/**
 * docs/methods.md §A7: beam search constrained to the prefix tree, following Hugging Face's BeamSearchScorer
 * (early_stopping = False):
 * - each row starts from one beam at the root; per step every live beam is scored by the policy, the
 *   allowed next tokens are the beam's trie children (invalid tokens are never candidates, which is what
 *   masking them to −1e6 does whenever enough valid tokens exist), scores keep the FULL-vocabulary
 *   log-probs (after temperature, log softmax(log p / T) over the whole policy vocabulary);
 * - the top 2·beams candidates are visited in score order: a terminal candidate ranked < beams becomes a
 *   finished hypothesis with score Σ log p / generated_len^lengthPenalty (Σ and generated_len both include
 *   the terminal token, as HF ≥ 4.36 does: `cur_len = input_ids.shape[-1] + 1`), the others continue
 *   until `beams` live beams;
 * - a row is done when it holds `beams` hypotheses and the best candidate sum divided by the current
 *   generated length^penalty cannot beat the worst kept one, or when no beam is left; at `maxTokens`
 *   unfinished beams are dropped (they are not catalogue titles).
 * When the policy offers incremental decoding sessions (docs/methods.md §A6; `hasSessions`), the live beams are the
 * session's states: each step passes every surviving beam's parent state and new token, so the policy
 * runs only the new token against its key/value cache; the search itself is unchanged.
 */
import { yieldIfDue } from '../experiment/context';
import type { PrefixTree } from '../trie';
import type { PolicyVocab } from '../tokenize/policyVocab';
import { hasSessions, type DecodeSession, type DecodeStats, type StepPolicy } from './policy';
import { maxChildren, nodePolicyIds, temperatureLogProbs } from './mask';

export interface BeamOptions {
  beams: number;
  returned: number;
  /** 1 = reference default; 0 = D3 baseline (raw sum of log-probs). */
  lengthPenalty: number;
  temperature: number;
  maxTokens: number;
  /** Filled with timings when given. */
  stats?: DecodeStats;
}

export interface BeamHypothesis {
  title: string;
  titleIndex: number;
  /** Σ log p / generated_len^lengthPenalty. */
  score: number;
  /** Σ log p (incl. the terminal). */
  sumLogProb: number;
  /** Policy ids of the title incl. its terminal. */
  tokens: number[];
}

/** `from`: index of the parent beam's state in the previous step's state list (incremental sessions). */
interface Beam {
  node: number;
  sum: number;
  tokens: number[];
  from: number;
}

interface RowState {
  live: Beam[];
  hyps: BeamHypothesis[]; // kept sorted by score descending, at most `beams`
  done: boolean;
}

function lengthNorm(sum: number, len: number, penalty: number): number {
  return penalty === 0 ? sum : sum / Math.pow(Math.max(len, 1), penalty);
}

function addHyp(row: RowState, h: BeamHypothesis, beams: number): void {
  if (row.hyps.length >= beams && h.score <= row.hyps[row.hyps.length - 1].score) return;
  let i = row.hyps.length;
  while (i > 0 && row.hyps[i - 1].score < h.score) i--;
  row.hyps.splice(i, 0, h);
  if (row.hyps.length > beams) row.hyps.pop();
}

/** docs/methods.md §A7 beam search; per row the hypotheses, best first (at most `returned`, fewer if the trie has fewer titles). */
export async function beamSearchScored(
  policy: StepPolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  histories: number[][],
  opts: BeamOptions,
): Promise<BeamHypothesis[][]> {
  const { beams, returned, lengthPenalty, temperature, maxTokens, stats } = opts;
  if (!(beams >= 1) || !(returned >= 1) || !(maxTokens >= 1))
    throw new Error(`beam search: beams, returned and maxTokens must be ≥ 1 (got ${beams}, ${returned}, ${maxTokens})`);
  if (returned > beams) throw new Error(`beam search: returned (${returned}) cannot exceed beams (${beams})`);
  const now = () => performance.now();
  let t0 = now();
  const pid = nodePolicyIds(trie, vocab);
  const K = 2 * beams;
  const maxKids = maxChildren(trie);
  const allowedNode = new Int32Array(beams * maxKids); // per row: candidate child nodes
  const allowedBeam = new Int32Array(beams * maxKids);
  const topScore = new Float64Array(K);
  const topIdx = new Int32Array(K);
  const { childStart, childCount, titleOf, titles } = trie;
  if (stats) stats.maskMs += now() - t0;
  let tmp: Float32Array | undefined;

  const rows: RowState[] = histories.map((_, r) => ({ live: [{ node: 0, sum: 0, tokens: [], from: r }], hyps: [], done: false }));
  if (rows.length === 0) return [];
  const incremental = hasSessions(policy) ? policy : undefined;
  let session: DecodeSession | undefined;
  try {
    for (let step = 0; step < maxTokens; step++) {
      let nStates = 0;
      for (let r = 0; r < rows.length; r++) if (!rows[r].done) nStates += rows[r].live.length;
      if (nStates === 0) break;
      t0 = now();
      await yieldIfDue(); // keep signals and IPC cancel messages flowing during long decodes
      let lps: Float32Array[];
      if (!incremental) {
        const hist: number[][] = [];
        const pref: number[][] = [];
        for (let r = 0; r < rows.length; r++)
          if (!rows[r].done)
            for (const b of rows[r].live) {
              hist.push(histories[r]);
              pref.push(b.tokens);
            }
        lps = await policy.nextLogProbs(hist, pref);
      } else if (!session) {
        const start = await incremental.startSession(histories); // step 0: one root beam per row, in row order
        session = start.session;
        lps = start.logProbs;
      } else {
        const parents = new Int32Array(nStates);
        const toks = new Int32Array(nStates);
        let k = 0;
        for (let r = 0; r < rows.length; r++)
          if (!rows[r].done)
            for (const b of rows[r].live) {
              parents[k] = b.from;
              toks[k++] = b.tokens[b.tokens.length - 1];
            }
        lps = await session.step(parents, toks);
      }
      if (stats) {
        stats.policyMs += now() - t0;
        stats.steps++;
        stats.states += nStates;
      }
      if (lps.length !== nStates) throw new Error(`policy returned ${lps.length} rows of log-probs for ${nStates} states`);
      let s = 0;
      for (let r = 0; r < rows.length; r++) {
        const row = rows[r];
        if (row.done) continue;
        const s0 = s; // this row's first state
        // allowed tokens = trie children of each live beam (the mask)
        t0 = now();
        let n = 0;
        for (let bi = 0; bi < row.live.length; bi++) {
          const node = row.live[bi].node;
          const c0 = childStart[node],
            c1 = c0 + childCount[node];
          for (let c = c0; c < c1; c++) {
            allowedNode[n] = c;
            allowedBeam[n++] = bi;
          }
        }
        const t1 = now();
        if (stats) stats.maskMs += t1 - t0;
        // score candidates, keep the top K (ties: earlier beam / smaller token first)
        let kept = 0;
        let curBeam = -1;
        let lp: Float32Array = lps[s];
        for (let i = 0; i < n; i++) {
          const bi = allowedBeam[i];
          if (bi !== curBeam) {
            curBeam = bi;
            const raw = lps[s + bi];
            if (raw.length !== vocab.size)
              throw new Error(`policy returned ${raw.length} log-probs, the policy vocabulary has ${vocab.size}`);
            if (temperature === 1) lp = raw;
            else {
              tmp ??= new Float32Array(vocab.size);
              lp = temperatureLogProbs(raw, temperature, tmp);
            }
          }
          const score = row.live[bi].sum + lp[pid[allowedNode[i]]];
          // insertion into the top K (a full list drops its last entry)
          if (kept < K || score > topScore[K - 1]) {
            let j = kept < K ? kept++ : K - 1;
            while (j > 0 && topScore[j - 1] < score) {
              topScore[j] = topScore[j - 1];
              topIdx[j] = topIdx[j - 1];
              j--;
            }
            topScore[j] = score;
            topIdx[j] = i;
          }
        }
        s += row.live.length;
        const genLen = step + 1; // tokens generated including this step's token (HF cur_len)
        const next: Beam[] = [];
        for (let rank = 0; rank < kept && next.length < beams; rank++) {
          const i = topIdx[rank];
          const child = allowedNode[i];
          const parent = row.live[allowedBeam[i]];
          if (titleOf[child] >= 0 && trie.token[child] === trie.terminalToken) {
            if (rank >= beams) continue;
            const tokens = parent.tokens.concat(pid[child]);
            addHyp(
              row,
              {
                title: titles[titleOf[child]],
                titleIndex: titleOf[child],
                score: lengthNorm(topScore[rank], genLen, lengthPenalty),
                sumLogProb: topScore[rank],
                tokens,
              },
              beams,
            );
          } else {
            next.push({ node: child, sum: topScore[rank], tokens: parent.tokens.concat(pid[child]), from: s0 + allowedBeam[i] });
          }
        }
        row.live = next;
        if (next.length === 0) row.done = true;
        else if (row.hyps.length >= beams && kept > 0) {
          const best = lengthNorm(topScore[0], genLen, lengthPenalty);
          if (row.hyps[row.hyps.length - 1].score >= best) row.done = true;
        }
        if (stats) stats.selectMs += now() - t1;
      }
    }
  } finally {
    session?.dispose();
  }
  return rows.map((r) => r.hyps.slice(0, returned));
}

/** docs/methods.md §A7 beam search: the recommended titles per history row, best first. */
export async function beamSearch(
  policy: StepPolicy,
  trie: PrefixTree,
  vocab: PolicyVocab,
  histories: number[][],
  opts: BeamOptions,
): Promise<string[][]> {
  return (await beamSearchScored(policy, trie, vocab, histories, opts)).map((hs) => hs.map((h) => h.title));
}
