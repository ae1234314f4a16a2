/**
 * docs/methods.md §B3 "compute priors live from any base model (… the Flower policy …)": a Flower policy
 * checkpoint trained here for a few steps on real Movies_and_TV rows, loaded through loadScorer, scores
 * candidates by the length-normalised title log-prob of docs/methods.md §A7; the prior is its argmax. The AFL
 * datasets (LastFM/Steam/MovieLens) are not what an Amazon-trained policy knows: they are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSingle } from '../../core/experiment/runner';
import { LocatedError } from '../../core/experiment/context';
import { loadAmazon } from '../../core/data/amazon';
import { readCheckpoint, resolveCheckpoint } from '../../core/models/policyCheckpoint';
import { loadScorer } from '../../core/models/load';
import { FlowerPolicyScorer } from '../../core/models/policyScorer';
import { TransformerPolicy, type PolicyConfig } from '../../core/models/policy';
import { argmax, computePriors } from '../../core/models/prior';
import { loadTokenizer } from '../../core/tokenize';
import { PolicyVocab } from '../../core/tokenize/policyVocab';
import { PrefixTree, titleTokens } from '../../core/trie';
import { beamSearchScored } from '../../core/decode/beam';
import { loadSeqDataset } from '../../core/data/sequential';
import { loadModelSpec } from '../../core/afl/inputs';
import { main as priorCli } from '../../core/cli/prior';
import { shared } from '../../harness/paths';

const dir = mkdtempSync(join(tmpdir(), 'fl-policy-prior-'));
let runDir: string | undefined;

/** A Flower run (SFT + GFN, θ 0.5) of one short epoch on 48 real Movies_and_TV rows, checkpoint kept. */
async function trainedRun(): Promise<string> {
  if (runDir) return runDir;
  const r = await runSingle({
    configPath: join(dir, 'policy.flowloop.json'),
    outDir: join(dir, 'runs'),
    configObject: {
      kind: 'flower',
      dataset: shared('amazon', 'Movies_and_TV'),
      objective: 'flower',
      theta: 0.5,
      personalization: { mode: 'none' },
      mechanismRows: 0,
      maxTrainRows: 48,
      maxValidRows: 8,
      maxTestRows: 1,
      validDecodeRows: 0,
      epochs: 1,
      batchSize: 16,
      gfnSamplesPerBatch: 4,
      policy: { dModel: 16, layers: 1, heads: 2, ffn: 32, maxHistory: 5 },
      decoding: { beams: 2, returned: 2 },
      snapshotNodes: 0,
      checkpoints: true,
      seed: 3,
      device: 'cpu',
    },
  });
  assert.equal(r.status, 'finished', `flower run failed: ${r.error}`);
  runDir = r.runDir;
  return r.runDir;
}

/** Candidate rows: 3 real test users, their true next item + 19 other catalogue ids (fixed stride). */
function rows(ds: Awaited<ReturnType<typeof loadAmazon>>) {
  const ids = [...ds.catalogue.ids()];
  return ds.test.slice(0, 3).map((r, u) => {
    const cans = [
      r.itemId,
      ...ids
        .filter((id) => id !== r.itemId && !r.historyIds.includes(id))
        .filter((_, i) => i % 97 === u)
        .slice(0, 19),
    ];
    return { id: u, seq: r.historyIds, next: r.itemId, cans };
  });
}

test("Flower policy as a Scorer: each candidate scores Σ log p / tokens of its title (the policy's own step-by-step log-probs), the prior is the argmax, beam-search scores agree", async () => {
  const run = await trainedRun();
  const ds = await loadAmazon(shared('amazon', 'Movies_and_TV'));
  const scorer = await loadScorer(run, { device: 'cpu' }); // the run folder: catalogue from its config.json
  assert.ok(scorer instanceof FlowerPolicyScorer, `loadScorer gave ${scorer.description}`);
  assert.match(scorer.description, /Flower policy .*Movies_and_TV.*length-normalised title log-prob/);
  const input = rows(ds);
  const scores = await scorer.scoreCandidates(
    input.map((r) => r.seq),
    input.map((r) => r.cans),
  );

  // independent reference: the checkpoint's policy, one nextLogProbs call per prefix (logProbsLast path)
  const ck = readCheckpoint(resolveCheckpoint(run));
  const policy = new TransformerPolicy(ck.manifest.policy as PolicyConfig, 0, ck.tensors);
  const vocab = PolicyVocab.fromJSON(ck.manifest.vocab);
  const tok = loadTokenizer('qwen2.5');
  const ref: number[][] = [];
  for (const r of input) {
    const row: number[] = [];
    for (const id of r.cans) {
      const y = vocab.encode(titleTokens(tok, ds.catalogue.titleOf(id), 'separate'));
      const lps = await policy.nextLogProbs(
        y.map(() => r.seq),
        y.map((_, t) => y.slice(0, t)),
      );
      row.push(y.reduce((a, tk, t) => a + lps[t][tk], 0) / y.length);
    }
    ref.push(row);
  }
  let worst = 0,
    at = '';
  input.forEach((r, b) =>
    r.cans.forEach((_, k) => {
      const e = Math.abs(scores[b][k] - ref[b][k]);
      if (e > worst) {
        worst = e;
        at = `user ${b} cand ${k}: ${scores[b][k]} vs ${ref[b][k]}`;
      }
    }),
  );
  assert.ok(worst < 1e-4, `scorer vs step-by-step policy log-probs: max |diff| ${worst} at ${at}`);
  assert.ok(
    input.every((_, b) => new Set(scores[b]).size > 10),
    'scores differ between candidates',
  );

  // the prior = the candidate with the largest (reference) score
  const pri = await computePriors(scorer, input, ds.catalogue);
  pri.forEach((p, b) => {
    assert.equal(p.top, argmax(ref[b]), `user ${b}: prior index`);
    assert.equal(p.generate, ds.catalogue.titleOf(input[b].cans[argmax(ref[b])]));
  });

  // docs/methods.md §A7: the beam-search score of a returned title (length penalty 1, T = 1) is the scorer's score of that item
  const trie = PrefixTree.build(
    ds.catalogue.titles(),
    ds.catalogue.titles().map(() => 1),
    tok,
  );
  const hyps = (
    await beamSearchScored(policy, trie, vocab, [input[0].seq], { beams: 3, returned: 3, lengthPenalty: 1, temperature: 1, maxTokens: 64 })
  )[0];
  const ids = hyps.map((h) => ds.catalogue.idsOf(h.title)[0]);
  const s = (await scorer.scoreCandidates([input[0].seq], [ids]))[0];
  hyps.forEach((h, i) => assert.ok(Math.abs(h.score - s[i]) < 1e-4, `beam ${h.title}: ${h.score} vs scorer ${s[i]}`));

  // total log-prob when asked (lengthPenalty 0)
  const total = await loadScorer(run, { device: 'cpu', lengthPenalty: 0 });
  const t0 = (await total.scoreCandidates([input[0].seq], [input[0].cans.slice(0, 3)]))[0];
  input[0].cans.slice(0, 3).forEach((id, k) => {
    const n = titleTokens(tok, ds.catalogue.titleOf(id)).length;
    assert.ok(Math.abs(t0[k] - ref[0][k] * n) < 1e-3, `total log-prob of cand ${k}: ${t0[k]} vs ${ref[0][k] * n}`);
  });
  policy.dispose();
  scorer.dispose();
  total.dispose();
});

test('prior CLI on a Flower checkpoint over Amazon candidates writes the argmax titles; AFL catalogues (LastFM) are refused clearly', async () => {
  const run = await trainedRun();
  const ds = await loadAmazon(shared('amazon', 'Movies_and_TV'));
  const input = rows(ds);
  const cand = join(dir, 'candidates.jsonl');
  writeFileSync(
    cand,
    input
      .map((r) =>
        JSON.stringify({
          id: r.id,
          seq: r.seq,
          seq_unpad: r.seq,
          seq_names: r.seq.map((i) => ds.catalogue.titleOf(i)),
          next: r.next,
          correct_answer: ds.catalogue.titleOf(r.next),
          cans: r.cans,
          cans_names: r.cans.map((i) => ds.catalogue.titleOf(i)),
        }),
      )
      .join('\n') + '\n',
  );
  const out = join(dir, 'prior.csv');
  let text = '';
  const io = {
    out: (s: string) => {
      text += s;
    },
    err: (s: string) => {
      text += s;
    },
  };
  const ckDir = join(run, 'checkpoints', 'epoch-1');
  const code = await priorCli(['--model', ckDir, '--candidates', cand, '--device', 'cpu', '--out', out], io as any);
  assert.equal(code, 0, text);
  assert.match(text, /Flower policy/);
  const scorer = await loadScorer(ckDir, { device: 'cpu' });
  const want = (await computePriors(scorer, input, ds.catalogue)).map((p) => p.generate);
  scorer.dispose();
  const csv = readFileSync(out, 'utf8').trim().split('\n').slice(1);
  assert.equal(csv.length, 3);
  csv.forEach((line, b) =>
    assert.ok(
      line.startsWith(`${b},`) && line.includes(want[b].includes(',') ? `"${want[b].replace(/"/g, '""')}"` : want[b]),
      `row ${b}: ${line} vs ${want[b]}`,
    ),
  );

  // an AFL dataset's catalogue is not the policy's: located refusal (loadScorer and the AFL model spec)
  const lastfm = loadSeqDataset(shared('lastfm'), 'lastfm');
  await assert.rejects(
    loadScorer(run, { device: 'cpu', catalogue: lastfm.catalogue }),
    (e: unknown) => e instanceof LocatedError && /trained on "Movies_and_TV", the catalogue is "lastfm"/.test(e.message),
  );
  await assert.rejects(
    loadModelSpec(run, (p) => p, {
      engine: 'tfjs',
      device: 'cpu',
      configPath: 'afl.json',
      path: 'prior',
      csvAllowed: true,
      catalogue: lastfm.catalogue,
    }),
    (e: unknown) => e instanceof LocatedError && /Flower policy was trained on/.test(e.message),
  );
  await assert.rejects(loadScorer(run, { engine: 'onnx' }), (e: unknown) => e instanceof LocatedError && /tfjs engine/.test(e.message));
});
