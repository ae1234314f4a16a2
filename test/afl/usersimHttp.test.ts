/**
 * User simulation (docs/methods.md §B4) with LLM judges over HTTP, cancellation of a run stuck on a silent
 * server, and the shipped AFL example configs against the schema.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readUserSimSamples } from '../../core/data/candidates';
import { runAflExperiment } from '../../core/afl/experiment';
import { scorePredictions } from '../../core/afl/usersim';
import { CancelledError } from '../../core/experiment/context';
import { validateConfigObject } from '../../core/experiment/validate';
import { lastfmAfl, makeContext } from '../../harness/aflContext';
import { agentOf, promptText, recReply, startServer, userReply } from '../../harness/llmServer';
import { ROOT, shared } from '../../harness/paths';
import { scaledMs, within } from '../../harness/load';

const configPath = join(ROOT, 'examples', 'afl-test.flowloop.json');

test('user simulation over HTTP: step-2 judges see the score (and the step-1 memory for AFL); metrics from their answers', async () => {
  const samples = readUserSimSamples(shared('lastfm', 'user_sim', 'samples_1_1.jsonl')).slice(0, 3);
  const server = await startServer((req) => {
    const t = promptText(req);
    if (/given a music artist, please judge/i.test(t)) {
      const score = Number(/The score given by the reward model is: (\S+)/.exec(t)![1]);
      return { content: userReply(score > -1) };
    }
    if (agentOf(req) === 'rec') return { content: recReply(samples.find((s) => t.includes(s.seqNames.join(', ')))!.cansNames[1]) };
    return { content: userReply(false, 'I prefer heavier music.') };
  });
  process.env.FLOWLOOP_LLM_API_KEY ??= 'sk-test';
  try {
    const ctx = makeContext(
      lastfmAfl('usersim-http', {
        agents: 'llm',
        users: { limit: 1 },
        evaluations: ['user-simulation'],
        maxRounds: 2,
        userSimulation: { ratios: ['1_1'], limit: 3 },
        llm: { baseURL: server.url, concurrency: 8, cache: false },
      }),
      configPath,
    );
    const m = (await runAflExperiment(ctx)) as any;
    const judged = server.requests.filter((q) => /given a music artist, please judge/i.test(promptText(q)));
    assert.equal(judged.length, 3 * 20 * 2);
    const withMem = judged.filter((q) => /Here is the communication history/.test(promptText(q)));
    assert.equal(withMem.length, 60);
    assert.ok(
      withMem.every((q) => /I prefer heavier music\./.test(promptText(q))),
      'the AFL judge reads the step-1 user memory',
    );
    const expected = scorePredictions(
      samples.flatMap((s) => s.label.map((l, j) => ({ user: s.id, label: l, yes: s.sasrecEvalScoresEvalCans[j] > -1 }))),
    );
    assert.deepEqual(m.userSimulation['1_1'].userAgent.micro, expected.micro);
    assert.deepEqual(m.userSimulation['1_1'].afl.micro, expected.micro);
    assert.equal(m.userSimulation['1_1'].rewardModel.micro.tp + m.userSimulation['1_1'].rewardModel.micro.fp, 15);
    const lines = readFileSync(join(ctx.runDir, 'transcripts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.filter((l) => /^user-sim 1_1 /.test(l.variant)).length, 120);
  } finally {
    await server.close();
  }
});

test('cancelling a run whose LLM never answers ends promptly with CancelledError', async () => {
  const server = await startServer(() => ({ hang: true }));
  process.env.FLOWLOOP_LLM_API_KEY ??= 'sk-test';
  const ac = new AbortController();
  try {
    const ctx = makeContext(
      lastfmAfl('cancel', {
        agents: 'llm',
        users: { limit: 8 },
        // a deadline no test waits for: only the cancel can end these calls
        llm: { baseURL: server.url, concurrency: 4, cache: false, timeoutMs: 600000 },
      }),
      configPath,
      { signal: ac.signal },
    );
    setTimeout(() => ac.abort('test cancel'), 400);
    const err = await within(
      runAflExperiment(ctx).then(
        () => null,
        (e: unknown) => e,
      ),
      scaledMs(5000),
      'a run cancelled while its calls hang',
    );
    assert.ok(err instanceof CancelledError, `ended with ${String(err)}`);
    assert.ok(server.calls <= 4, `${server.calls} calls made; at most 4 (concurrency) can be in flight, none after the cancel`);
  } finally {
    await server.close();
  }
});

test('every examples/afl-*.flowloop.json validates against the schema', () => {
  const files = readdirSync(join(ROOT, 'examples')).filter((f) => /^afl-.*\.flowloop\.json$/.test(f));
  assert.ok(files.length >= 4);
  for (const f of files) {
    const p = join(ROOT, 'examples', f);
    const v = validateConfigObject(JSON.parse(readFileSync(p, 'utf8')), p, f);
    assert.deepEqual(v.errors, [], f);
    assert.equal(v.config!.kind === 'afl' && v.config!.maxRounds, 4);
  }
});
