import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrefixTree } from '../../core/trie';
import { PolicyVocab } from '../../core/tokenize/policyVocab';
import { subtbLogRewards, subtbResidual, subtbLossReference, subtbLossTensor } from '../../core/flower/subtb';
import { pathLogRewards } from '../../core/flower/objective';
import { initBackend, getTf } from '../../core/tensor';

// Hand-built 3-title trie (token ids a=5, b=6, c=7, terminal ⊤=9):
//   "ab" = [5,6,9] R=2,  "ac" = [5,7,9] R=1,  "c" = [7,9] R=1.   F(root)=4, F(a)=3, F(ab)=2, F(ac)=1, F(c)=1.
const TERM = 9;
function handTrie(): PrefixTree {
  return PrefixTree.fromTokenIds(
    ['ab', 'ac', 'c'],
    [
      [5, 6, 9],
      [5, 7, 9],
      [7, 9],
    ],
    [2, 1, 1],
    TERM,
  );
}
const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: got ${a}, expected ${b} (tol ${tol})`);

// Path "ab" (k = 2): ℓ*_0 = log 3/4 = −0.287682, ℓ*_1 = log 2/3 = −0.405465, ℓ*_⊤ = log 2/2 = 0
//   log_r = [−15, −15.287682, log 1/2 = −0.693147]
// Policy numbers chosen by hand: π(a|s0)=.5, π(b|s1)=.25; π(⊤|s0)=.1, π(⊤|s1)=.2, π(⊤|s2)=.6
//   log F = log_r − log π(⊤|s) = [−12.697415, −13.678244, −0.182321]
//   res(0,1) = −12.697415 − 0.693147 + 13.678244 = 0.287682
//   res(1,2) = −13.678244 − 1.386294 + 0.182321 = −14.882217
//   res(0,2) = −12.697415 − 0.693147 − 1.386294 + 0.182321 = −14.594535
// Path "c" (k = 1): ℓ*_0 = log 1/4 = −1.386294, ℓ*_⊤ = 0; log_r = [−15, −1.386294]
//   π(c|s0)=.2; π(⊤|s0)=.05, π(⊤|s1)=.9 → log F = [−12.004268, −1.280933]
//   res(0,1) = −12.004268 − 1.609438 + 1.280933 = −12.332773
// L_GFN = (0.287682² + 14.882217² + 14.594535² + 12.332773²) / 4 pairs = 586.660885 / 4 = 146.665221
const AB = { logPiTok: [Math.log(0.5), Math.log(0.25)], logPiTerm: [Math.log(0.1), Math.log(0.2), Math.log(0.6)] };
const C = { logPiTok: [Math.log(0.2)], logPiTerm: [Math.log(0.05), Math.log(0.9)] };

test('docs/methods.md §A4 log-rewards of the hand trie paths equal the hand values', () => {
  const trie = handTrie();
  const lrAB = pathLogRewards(trie, 0, 'none');
  [-15, -15.287682, -0.693147].forEach((v, i) => close(lrAB[i], v, 1e-6, `log_r[${i}] of "ab"`));
  const lrC = pathLogRewards(trie, 2, 'none');
  [-15, -1.386294].forEach((v, i) => close(lrC[i], v, 1e-6, `log_r[${i}] of "c"`));
  assert.deepEqual(subtbLogRewards([1, 2], 3), [-15, -14, 6]);
});

test('docs/methods.md §A4 residuals res(m,n) on the hand trie equal the hand computation', () => {
  const trie = handTrie();
  const lr = pathLogRewards(trie, 0, 'none');
  close(subtbResidual(lr, AB.logPiTok, AB.logPiTerm, 0, 1), 0.287682, 1e-5, 'res(0,1)');
  close(subtbResidual(lr, AB.logPiTok, AB.logPiTerm, 1, 2), -14.882217, 1e-5, 'res(1,2)');
  close(subtbResidual(lr, AB.logPiTok, AB.logPiTerm, 0, 2), -14.594535, 1e-5, 'res(0,2)');
  const lrc = pathLogRewards(trie, 2, 'none');
  close(subtbResidual(lrc, C.logPiTok, C.logPiTerm, 0, 1), -12.332773, 1e-5, 'res(0,1) of "c"');
});

test('docs/methods.md §A4 L_GFN over all pairs: reference loop and tensor version equal the hand value 146.665221', async () => {
  await initBackend('auto');
  const tf = getTf();
  const trie = handTrie();
  const paths = [
    { logR: pathLogRewards(trie, 0, 'none'), ...AB },
    { logR: pathLogRewards(trie, 2, 'none'), ...C },
  ];
  const ref = subtbLossReference(paths);
  assert.equal(ref.pairs, 4);
  close(ref.loss, 146.665221, 1e-4, 'reference L_GFN');
  // Tensor layout [B=2, W=4] with padding after each path (padding values are garbage on purpose).
  const W = 4;
  const tok = [
    [AB.logPiTok[0], AB.logPiTok[1], 123, -77],
    [C.logPiTok[0], 55, -1e4, 9],
  ];
  const term = [
    [...AB.logPiTerm, 42],
    [...C.logPiTerm, 3, -8],
  ];
  const logR = [
    [...paths[0].logR, 17],
    [...paths[1].logR, -5, 6],
  ];
  const valid = [
    [1, 1, 1, 0],
    [1, 1, 0, 0],
  ];
  const loss = tf.tidy(
    () =>
      subtbLossTensor(
        tf.tensor2d(tok, [2, W]),
        tf.tensor2d(term, [2, W]),
        tf.tensor2d(logR, [2, W]),
        tf.tensor2d(valid, [2, W]),
      ).dataSync()[0],
  );
  close(loss, 146.665221, 2e-3, 'tensor L_GFN (float32)');
});

test('PolicyVocab of the hand trie maps the terminal', () => {
  const trie = handTrie();
  const v = new PolicyVocab(trie.token, TERM);
  assert.equal(v.toTokenizer(v.terminal), TERM);
});
