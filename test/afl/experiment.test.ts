/**
 * The `afl` kind runner on the shipped example (examples/afl-lastfm.flowloop.json): built-in agents,
 * all 122 LastFM users, offline; then the same config pointed at a local OpenAI-compatible server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCandidates } from '../../core/data/candidates';
import { runAflExperiment } from '../../core/afl/experiment';
import type { DialogueTurnEvent } from '../../core/experiment/events';
import { makeContext } from '../../harness/aflContext';
import { agentOf, promptText, recReply, startServer, userReply, type ChatRequest } from '../../harness/llmServer';
import { ROOT, shared } from '../../harness/paths';

const examplePath = join(ROOT, 'examples', 'afl-lastfm.flowloop.json');
const example = () => JSON.parse(readFileSync(examplePath, 'utf8'));

test('example afl-lastfm (built-in agents, 122 users): Base HR@1 36/122 live SASRec, 34/122 published CSV; per-round HR@1; labelled rule-based', async () => {
  shared('lastfm');
  const ctx = makeContext(example(), examplePath);
  const m = (await runAflExperiment(ctx)) as any;
  assert.equal(m.users, 122);
  assert.equal(m.base.hits, 36, 'live imported SASRec prior');
  assert.match(m.base.prior, /SASRec/);
  assert.equal(m.extraPriors[0].hits, 34, 'published prior_sasrec.csv');
  assert.equal(m.extraPriors[0].users, 122);
  // Rule-based agents with the same SASRec as prior and reward model agree at once: AFL = Base.
  const rec = m.recommendation;
  assert.equal(rec.curve.length, 4);
  assert.equal(rec.recAgent.hits, 36);
  assert.equal(rec.afl.hits, 36);
  assert.deepEqual(rec.acceptedByRound, [122, 0, 0, 0]);
  // Without the rec model the rule-based rec agent draws seeded random candidates; the reward model then
  // steers it: users accepted in later rounds, and the curve ends at the reward model's choice or a miss.
  const wo = m.ablations['w/o rec model'];
  assert.ok(wo.acceptedByRound[1] + wo.acceptedByRound[2] + wo.acceptedByRound[3] > 0);
  assert.ok(wo.meanRounds > 1);
  assert.equal(m.ablations['w/o reward model'].afl.hits, 36, 'no reward model: the user agent accepts the prior');
  // User simulation: the rule-based judge is the reward model's top quarter = the Reward Model baseline.
  for (const r of ['1_1', '1_3', '1_9']) {
    assert.equal(m.userSimulation[r].users, 60);
    assert.deepEqual(m.userSimulation[r].userAgent.micro, m.userSimulation[r].rewardModel.micro);
  }
  assert.equal(m.userSimulation['1_1'].rewardModel.micro.tp + m.userSimulation['1_1'].rewardModel.micro.fp, 60 * 5);
  // Labels: config, table, transcripts, events.
  assert.equal((ctx.config as unknown as Record<string, unknown>).agents, 'rule-based');
  assert.ok(ctx.tableLines.some((l) => l.includes('rule-based, not an LLM')));
  assert.ok(ctx.tableLines.some((l) => /Base HR@1 .*34\/122/.test(l)) && ctx.tableLines.some((l) => /Base HR@1 .*36\/122/.test(l)));
  assert.ok(ctx.tableLines.some((l) => /HR@1 per round: r1 36 .* r4 36/.test(l)));
  assert.ok(
    ctx.tableLines.some((l) => /Reward Model = SASRec's top quarter .* is not reproduced .*docs\/methods\.md §B4/.test(l)),
    "the table says the paper's Reward Model row is not reproduced",
  );
  const turns = ctx.events.filter((e): e is DialogueTurnEvent => e.type === 'dialogue-turn');
  assert.ok(turns.length >= 244);
  assert.ok(turns.every((t) => t.agentKind === 'rule-based' && /rule-based, not an LLM/.test(t.prompt)));
  const first = readFileSync(join(ctx.runDir, 'transcripts.jsonl'), 'utf8').split('\n')[0];
  assert.match(first, /"agentKind":"rule-based"/);
  assert.equal(ctx.keyMetric?.name, 'recommendation.afl.hr');
  assert.ok(ctx.events.some((e) => e.type === 'metric' && e.name === 'afl/hr@1' && e.step === 4));
});

test('the same config with llm.baseURL set to a local server runs the loop through HTTP (prior = published CSV)', async () => {
  const rows = readCandidates(shared('lastfm', 'test_candidates.jsonl'));
  const byHistory = new Map(rows.map((r) => [r.seqNames.join(', '), r]));
  const rowOf = (req: ChatRequest) => {
    const t = promptText(req);
    const h = /listened to (.*) in the previous\./.exec(t)?.[1] ?? /the following music artists: (.*)\.\n/.exec(t)?.[1];
    const r = h === undefined ? undefined : byHistory.get(h);
    if (!r) throw new Error('unknown user');
    return r;
  };
  // A scripted "LLM": the rec agent repeats the prior, then the reward model's favourite; the user agent
  // says yes only to the reward model's favourite.
  const server = await startServer((req) => {
    const r = rowOf(req);
    const t = promptText(req);
    const top = r.sasrecEvalFocusTopQuarter![0];
    if (agentOf(req) === 'rec') {
      const prior = /for your reference: (.*)\.\n/.exec(t)?.[1];
      return { content: recReply(prior ?? top) };
    }
    const item = /recommended by the recommendation system is: (.*)\.\n/.exec(t)?.[1];
    return { content: userReply(item === top) };
  });
  const cfg = {
    ...example(),
    agents: 'llm',
    prior: '../../shared/data/lastfm/prior_sasrec.csv',
    extraPriors: [],
    evaluations: ['recommendation'],
    llm: { baseURL: server.url, model: 'scripted', concurrency: 16, cache: false },
  };
  try {
    const ctx = makeContext(cfg, examplePath);
    const m = (await runAflExperiment(ctx)) as any;
    assert.equal(m.base.hits, 34);
    assert.equal(m.recommendation.recAgent.hits, 34, 'round 1 = the prior');
    assert.equal(m.recommendation.afl.hits, 36, "the loop moves every user to the reward model's top-1 (36/122)");
    assert.equal(m.recommendation.failedUsers, 0);
    assert.equal(m.llm.httpCalls, server.calls);
    assert.ok(server.calls >= 244);
    assert.ok(server.maxConcurrent <= 16);
    const turns = ctx.events.filter((e): e is DialogueTurnEvent => e.type === 'dialogue-turn');
    assert.ok(turns.every((t) => t.agentKind === 'llm'));
    assert.ok(ctx.tableLines.some((l) => /LLM: .* HTTP/.test(l)));
  } finally {
    await server.close();
  }
});

test('the prior and reward model also run through ONNX (engine "onnx"): Base HR@1 36/122', async () => {
  const ctx = makeContext({ ...example(), engine: 'onnx', extraPriors: [], evaluations: ['recommendation'] }, examplePath);
  const m = (await runAflExperiment(ctx)) as any;
  assert.match(m.base.prior, /ONNX|onnx/);
  assert.equal(m.base.hits, 36);
  assert.equal(m.recommendation.afl.hits, 36);
});

test('agents "llm" against OpenAI without an API key is a located config error before any call', async () => {
  const saved = { a: process.env.FLOWLOOP_LLM_API_KEY, b: process.env.OPENAI_API_KEY };
  delete process.env.FLOWLOOP_LLM_API_KEY;
  delete process.env.OPENAI_API_KEY;
  try {
    const ctx = makeContext(
      { ...example(), agents: 'llm', prior: '../../shared/data/lastfm/prior_sasrec.csv', rewardModel: 'candidates-file', extraPriors: [] },
      examplePath,
    );
    await assert.rejects(
      runAflExperiment(ctx),
      (e: any) => e.name === 'LocatedError' && e.path === 'llm' && /FLOWLOOP_LLM_API_KEY/.test(e.message),
    );
  } finally {
    if (saved.a !== undefined) process.env.FLOWLOOP_LLM_API_KEY = saved.a;
    if (saved.b !== undefined) process.env.OPENAI_API_KEY = saved.b;
  }
});
