import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shared } from '../../harness/paths';
import { readCandidates } from '../../core/data/candidates';
import { loadScorer } from '../../core/models/load';
import { initBackend } from '../../core/tensor';
import { SASRec } from '../../core/models/sasrec';
import { Rng } from '../../core/util/random';
import { padHistories } from '../../core/models/batch';

/** Largest |ours - reference| over all users and candidates, with where it happened. */
function maxDiff(ours: Float32Array[], ref: number[][]): { d: number; at: string } {
  let d = -1,
    at = '';
  ref.forEach((r, b) =>
    r.forEach((v, j) => {
      const e = Math.abs(ours[b][j] - v);
      if (!(e <= d)) {
        d = e;
        at = `user ${b} candidate ${j}: ours ${ours[b][j]} reference ${v}`;
      }
    }),
  );
  return { d, at };
}

test('tfjs forward of imported afl_lastfm_sasrec reproduces sasrec_eval_scores within 1e-4 for all 122 users', async () => {
  const rows = readCandidates(shared('lastfm', 'test_candidates.jsonl'));
  assert.equal(rows.length, 122);
  const scorer = await loadScorer(shared('models', 'afl_lastfm_sasrec'), { engine: 'tfjs', device: 'cpu' });
  assert.match(scorer.description, /SASRec \(imported PyTorch weights/);
  assert.equal(scorer.numItems, 4606);
  const scores = await scorer.scoreCandidates(
    rows.map((r) => r.seq),
    rows.map((r) => r.cans),
  );
  const { d, at } = maxDiff(
    scores,
    rows.map((r) => r.sasrecEvalScores!),
  );
  assert.ok(d < 1e-4, `max |diff| ${d} at ${at}`);
  scorer.dispose();
});

test('SASRec output at len-1 ignores what follows the history (padding is masked, attention is causal)', async () => {
  const { tf } = await initBackend('cpu');
  const m = new SASRec({ model: 'sasrec', numItems: 50, maxLen: 6, hidden: 8, dropout: 0 }, new Rng(3));
  const a = padHistories([[1, 2, 3]], 6, 50);
  const b = { ...a, seq: Int32Array.from(a.seq) };
  b.seq[4] = 7; // an item after position len-1 must not change the output at len-1
  const run = (p: typeof a) =>
    tf.tidy(() => m.logitsAll(m.represent(tf.tensor2d(p.seq, [1, 6], 'int32'), tf.tensor1d(p.lens, 'int32'), false)).dataSync());
  const la = run(a),
    lb = run(b);
  assert.deepEqual(Array.from(la), Array.from(lb));
  const c = padHistories([[1, 2, 4]], 6, 50);
  assert.notDeepEqual(Array.from(run(c)), Array.from(la), 'changing a real item must change the output');
  m.dispose();
});

test('histories longer than maxLen keep their last items; empty histories read position 0 (len 1)', () => {
  const p = padHistories([[1, 2, 3, 4, 5], []], 3, 9);
  assert.deepEqual(Array.from(p.seq), [3, 4, 5, 9, 9, 9]);
  assert.deepEqual(Array.from(p.lens), [3, 1]);
});
