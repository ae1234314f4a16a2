import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrefixTree } from '../../core/trie';
import { softmax, puStats, personalizationScale, personalizeLogRewards, puFromScoreFile } from '../../core/flower/personalization';
import { pathLogRewards } from '../../core/flower/objective';

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: got ${a}, expected ${b}`);

// p_u over 4 items = [0.1, 0.2, 0.3, 0.4]: mean 0.25, max 0.4, min 0.1, range 0.3.
const PU = [0.1, 0.2, 0.3, 0.4];

test('docs/methods.md §A5 div scale: s = (p_ui − mean)/(max − min) + 1 equals hand values', () => {
  const st = puStats(PU);
  close(personalizationScale('div', 0.4, st), 1.5, 1e-12, 's for p=0.4'); // (0.4−0.25)/0.3 + 1
  close(personalizationScale('div', 0.1, st), 0.5, 1e-12, 's for p=0.1'); // (0.1−0.25)/0.3 + 1
  close(personalizationScale('div', 0.2, st), 1 - 0.05 / 0.3, 1e-12, 's for p=0.2'); // 0.833333
});

test('docs/methods.md §A5 add_logs scale: s = (p_ui − min)/(max − min) equals hand values', () => {
  const st = puStats(PU);
  close(personalizationScale('add_logs', 0.4, st), 1, 1e-12, 's for p=0.4');
  close(personalizationScale('add_logs', 0.1, st), 0, 1e-12, 's for p=0.1');
  close(personalizationScale('add_logs', 0.3, st), 2 / 3, 1e-12, 's for p=0.3');
});

test('docs/methods.md §A5 applied to token log-rewards: div divides every term, add_logs adds log(s + 1e-20) to every term', () => {
  const ell = [Math.log(0.75), Math.log(2 / 3)];
  const d = personalizeLogRewards('div', ell, 0, 1.5);
  close(d.ell[0], -0.287682 / 1.5, 1e-6, 'div ℓ0'); // −0.191788
  close(d.ell[1], -0.405465 / 1.5, 1e-6, 'div ℓ1'); // −0.270310
  close(d.ellTerm, 0, 1e-12, 'div ℓ⊤');
  const a = personalizeLogRewards('add_logs', ell, -0.1, 0.5);
  close(a.ell[0], -0.287682 + Math.log(0.5), 1e-6, 'add_logs ℓ0'); // −0.980829
  close(a.ellTerm, -0.1 - 0.693147, 1e-6, 'add_logs ℓ⊤');
  const z = personalizeLogRewards('add_logs', ell, 0, 0); // s = 0 → log(1e-20) = −46.0517
  close(z.ell[0], -0.287682 - 46.051702, 1e-5, 'add_logs with s=0');
  assert.deepEqual(personalizeLogRewards('none', ell, 0, 3).ell, ell);
});

test('docs/methods.md §A5 personalised path log-rewards on a trie: item log-reward becomes log P*(i)/s (div); −15 stays', () => {
  const trie = PrefixTree.fromTokenIds(
    ['ab', 'ac', 'c'],
    [
      [5, 6, 9],
      [5, 7, 9],
      [7, 9],
    ],
    [2, 1, 1],
    9,
  );
  const lr = pathLogRewards(trie, 0, 'div', 1.5);
  close(lr[2], Math.log(0.5) / 1.5, 1e-9, 'log_r[k]'); // −0.462098
  close(lr[1], -15 + Math.log(0.75) / 1.5, 1e-9, 'log_r[1]');
  close(lr[0], -15, 0, 'log_r[0]');
  const la = pathLogRewards(trie, 0, 'add_logs', 0.25);
  close(la[2], Math.log(0.5) + 3 * Math.log(0.25), 1e-9, 'add_logs log_r[k] (2 tokens + terminal)');
});

test('p_u from a precomputed score file: logits are softmaxed; a flat p_u is an error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fl-pu-'));
  const f = join(dir, 'scores.jsonl');
  writeFileSync(
    f,
    JSON.stringify({ row: 7, scores: [0, Math.log(2), Math.log(3), Math.log(4)] }) +
      '\n' +
      JSON.stringify({ row: 8, probs: [0.25, 0.25, 0.25, 0.25] }) +
      '\n',
  );
  const src = await puFromScoreFile(f);
  const [p7, p8] = await src.pu([7, 8], [[], []]);
  [0.1, 0.2, 0.3, 0.4].forEach((v, i) => close(p7[i], v, 1e-12, `p_u[${i}]`));
  assert.throws(() => personalizationScale('div', 0.25, puStats(p8)), /same probability/);
  await assert.rejects(src.pu([9], [[]]), /no scores for training row 9/);
  const sm = softmax([1, 1]);
  assert.deepEqual(Array.from(sm), [0.5, 0.5]);
});
