/**
 * AFL runs against endpoints that cannot serve them (real HTTP on 127.0.0.1, the real openai SDK, the
 * real CLI): fail fast with the cause (dead host, refused key, unknown model), exit 2 for a missing key,
 * `degraded` when too many calls fail, a budget that stops the run cleanly, the cache in the workspace's
 * .flowloop also with --out, and parse retries as a corrective turn or a varied seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAflExperiment } from '../../core/afl/experiment';
import { runExperiment } from '../../core/experiment/run';
import { LocatedError } from '../../core/experiment/context';
import { lastfmAfl, makeContext } from '../../harness/aflContext';
import { plainScript, withServer, type Script } from '../../harness/llmServer';
import { ROOT, TSX_IMPORT } from '../../harness/paths';
import { describeLoad, loadFactor, scaledMs } from '../../harness/load';

const CLI = [...TSX_IMPORT, join(ROOT, 'core', 'cli.ts')];
const EXAMPLE = join(ROOT, 'examples', 'afl-lastfm-openai.flowloop.json');
const configPath = join(ROOT, 'examples', 'afl-test.flowloop.json');
const noKeyEnv = () => {
  const e = { ...process.env };
  delete e.FLOWLOOP_LLM_API_KEY;
  delete e.OPENAI_API_KEY;
  delete e.OPENAI_BASE_URL;
  return e;
};
const base = (url: string, llm: Record<string, unknown> = {}, over: Record<string, unknown> = {}) =>
  lastfmAfl('failfast', {
    agents: 'llm',
    users: { limit: 6 },
    maxRounds: 2,
    llm: { baseURL: url, model: 'test-model', concurrency: 2, timeoutMs: scaledMs(2000), maxRetries: 1, cache: false, ...llm },
    ...over,
  });
test('flowloop run against a dead endpoint fails fast: exit 1 with "cannot reach …", a failed run.json, no user attempted', () => {
  const ws = mkdtempSync(join(tmpdir(), 'afl-dead-'));
  const f0 = loadFactor();
  // A hang guard, not a speed check: the process is killed (status null) past 60 s stretched by the load.
  const r = spawnSync(process.execPath, [...CLI, 'run', EXAMPLE, '--set', 'llm.baseURL=http://127.0.0.1:1/v1'], {
    cwd: ws,
    encoding: 'utf8',
    env: { ...noKeyEnv(), FLOWLOOP_LLM_API_KEY: 'sk-test' },
    timeout: scaledMs(60000, f0),
  });
  assert.equal(r.status, 1, `${r.error ?? ''} ${r.stdout} ${r.stderr}`);
  assert.match(r.stderr, /error: .*cannot reach http:\/\/127\.0\.0\.1:1\/v1/);
  const dir = join(ws, '.flowloop', 'runs', readdirSync(join(ws, '.flowloop', 'runs'))[0]);
  const info = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
  assert.equal(info.status, 'failed');
  assert.match(info.error, /^cannot reach http:\/\/127\.0\.0\.1:1\/v1/);
  // Fast = stopped by the model check before the first user, not after a run of misses through 122 users.
  const events = readFileSync(join(dir, 'events.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    events.filter((e) => e.type === 'dialogue-turn' || e.type === 'run-finished' || e.type === 'run-degraded'),
    [],
    'no user attempted, never shown as finished',
  );
  assert.equal(events.at(-1).type, 'run-failed');
  for (const file of ['transcripts.jsonl', 'outcomes.jsonl']) assert.equal(existsSync(join(dir, file)), false, `no ${file}`);
  // The run's own time (on an idle core well under 1 s; the acceptance says 10 s), stretched by the load.
  const f = Math.max(f0, loadFactor());
  assert.ok(info.durationMs < scaledMs(10000, f), `the run took ${info.durationMs} ms (${describeLoad(f)})`);
});

test('a missing API key: flowloop run exits 2 before any run folder; flowloop validate says the key is missing', () => {
  const ws = mkdtempSync(join(tmpdir(), 'afl-nokey-'));
  const r = spawnSync(process.execPath, [...CLI, 'run', EXAMPLE], { cwd: ws, encoding: 'utf8', env: noKeyEnv(), timeout: scaledMs(60000) });
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stdout + r.stderr, /afl-lastfm-openai\.flowloop\.json:\d+:\d+: the API key is missing/);
  assert.equal(existsSync(join(ws, '.flowloop', 'runs')), false, 'no run folder');
  const v = spawnSync(process.execPath, [...CLI, 'validate', EXAMPLE], { cwd: ws, encoding: 'utf8', env: noKeyEnv() });
  assert.equal(v.status, 0, 'the file itself is valid');
  assert.match(v.stdout, /warning: .*the API key is missing/);
  const local = spawnSync(process.execPath, [...CLI, 'validate', EXAMPLE], {
    cwd: ws,
    encoding: 'utf8',
    env: { ...noKeyEnv(), FLOWLOOP_LLM_API_KEY: 'sk-test' },
  });
  assert.doesNotMatch(local.stdout, /API key is missing/);
});

test('a refused key (401) and an unknown model fail the run at once with the cause, not a run of misses', async () => {
  process.env.FLOWLOOP_LLM_API_KEY ??= 'sk-test';
  await withServer(
    plainScript,
    async (s) => {
      // no model check: the first chat call's 401 stops the run
      const ctx = makeContext(base(s.url, { checkModel: false, maxRetries: 3 }, { users: { limit: 20 } }), configPath);
      await assert.rejects(
        runAflExperiment(ctx),
        (e: Error) => e instanceof LocatedError && /refused the API key \(HTTP 401/.test(e.message),
      );
      assert.ok(s.calls === 0, 'rejected before the chat route');
      assert.ok(ctx.events.filter((e) => e.type === 'dialogue-turn').length <= 2, 'the users still in flight stop');
    },
    { apiKey: 'another-key' },
  );
  await withServer(
    plainScript,
    async (s) => {
      const ctx = makeContext(base(s.url), configPath);
      await assert.rejects(runAflExperiment(ctx), /does not offer model "test-model" \(it lists "llama-3"\)/);
      assert.equal(s.calls, 0, 'no chat call before the model check');
      assert.equal(s.modelListings, 1);
    },
    { models: ['llama-3'] },
  );
  await withServer(
    plainScript,
    async (s) => {
      const ctx = makeContext(base(s.url), configPath);
      await runAflExperiment(ctx);
      assert.equal(s.modelListings, 1);
      assert.ok(ctx.events.some((e) => e.type === 'log' && /model check: .* offers model "test-model"/.test(e.message)));
    },
    { models: ['test-model'] },
  );
});

test('a run with more than llm.maxFailedShare failed calls finishes degraded; under it, not', async () => {
  process.env.FLOWLOOP_LLM_API_KEY ??= 'sk-test';
  // every 3rd request fails with 500, no retries: about a third of the calls fail
  await withServer(
    (req, n) => (n % 3 === 2 ? { status: 500 } : plainScript(req, n)),
    async (s) => {
      const ctx = makeContext(base(s.url, { maxRetries: 0 }), configPath);
      const m = (await runAflExperiment(ctx)) as any;
      const deg = ctx.events.filter((e) => e.type === 'run-degraded');
      assert.equal(deg.length, 1, JSON.stringify(m.llm));
      assert.match((deg[0] as any).reason, /^\d+ of \d+ LLM calls failed after every retry \(\d+\.\d% > llm\.maxFailedShare 0\.1\)/);
      const ctx2 = makeContext(base(s.url, { maxRetries: 0, maxFailedShare: 0.9 }), configPath);
      await runAflExperiment(ctx2);
      assert.equal(ctx2.events.filter((e) => e.type === 'run-degraded').length, 0);
    },
  );
});

test('the budget stops the run cleanly: stopped budget, every finished user kept and scored', async () => {
  process.env.FLOWLOOP_LLM_API_KEY ??= 'sk-test';
  await withServer(plainScript, async (s) => {
    // 6 users × 2 rounds × 2 agents = 24 calls; under a budget at most `concurrency` (1) users are in flight,
    // so a budget of 21 finishes 5 users (4 calls each) and stops in the 6th
    const ctx = makeContext(
      base(s.url, { concurrency: 1, budget: { maxCalls: 21 } }, { evaluations: ['recommendation', 'ablations'] }),
      configPath,
    );
    const m = (await runAflExperiment(ctx)) as any;
    assert.equal(s.calls, 21);
    assert.equal(m.stopped, 'budget');
    assert.equal(m.recommendation.finishedUsers, 5);
    assert.equal(m.recommendation.afl.users, m.recommendation.finishedUsers, 'HR@1 over the finished users');
    assert.equal(m.ablations, undefined, 'later phases do not run');
    const deg = ctx.events.filter((e) => e.type === 'run-degraded');
    assert.equal(deg.length, 1);
    assert.match((deg[0] as any).reason, /^stopped: budget \(21 calls reached \(budget\.maxCalls 21\)\)/);
    assert.ok(ctx.tableLines.some((l) => /users finished/.test(l)));
  });
});

test('--out elsewhere: the LLM cache goes to the workspace .flowloop, not beside the config', async () => {
  process.env.FLOWLOOP_LLM_API_KEY ??= 'sk-test';
  await withServer(plainScript, async (s) => {
    const ws = mkdtempSync(join(tmpdir(), 'afl-ws-'));
    const out = mkdtempSync(join(tmpdir(), 'afl-out-'));
    const cfg = base(s.url, { cache: true }, { users: { limit: 2 } });
    const r = await runExperiment({ configPath, configObject: cfg, outDir: out, workspace: ws });
    assert.equal(r.status, 'finished', r.error);
    assert.ok(readdirSync(join(ws, '.flowloop', 'cache', 'llm')).length > 0, 'cache in <workspace>/.flowloop/cache/llm');
    assert.equal(existsSync(join(ROOT, 'examples', '.flowloop')), false, 'nothing beside the examples');
    const r2 = await runExperiment({ configPath, configObject: cfg, outDir: out, workspace: ws });
    assert.equal((r2.metrics as any).llm.cacheHits, (r2.metrics as any).llm.calls, 'the rerun is answered from the cache');
    assert.ok(r2.table.some((l) => new RegExp(`${(r2.metrics as any).llm.calls} answers from the cache`).test(l)));
  });
});

test('parse retries: a corrective turn carries the parse error (default); vary-seed changes the seed; each attempt records which', async () => {
  process.env.FLOWLOOP_LLM_API_KEY ??= 'sk-test';
  // the first reply to every fresh prompt is unparsable
  const script: Script = (req, n) =>
    req.messages.length === 2 && !req.seed ? { content: 'I would pick something nice.' } : plainScript(req, n);
  await withServer(script, async (s) => {
    const ctx = makeContext(base(s.url, {}, { users: { limit: 1 }, maxRounds: 1 }), configPath);
    await runAflExperiment(ctx);
    const retry = s.requests[1];
    assert.equal(retry.messages.length, 4);
    assert.deepEqual(retry.messages[2], { role: 'assistant', content: 'I would pick something nice.' });
    assert.match(
      retry.messages[3].content,
      /^Your reply could not be read: no "Reason: … Item: …" in the reply[^.]*\. Answer again, exactly in this format:\nReason: /,
    );
    const line = JSON.parse(readFileSync(join(ctx.runDir, 'transcripts.jsonl'), 'utf8').split('\n')[0]);
    assert.equal(line.attempts[1].retry, 'corrective-turn');
    assert.equal(line.failed, false);
  });
  await withServer(script, async (s) => {
    const ctx = makeContext(
      base(s.url, { parseRetry: 'vary-seed', temperature: 0 }, { users: { limit: 1 }, maxRounds: 1, seed: 5 }),
      configPath,
    );
    await runAflExperiment(ctx);
    assert.equal(s.requests[0].seed, undefined);
    assert.equal(s.requests[1].seed, 6, 'run seed 5 + attempt 1');
    assert.equal(s.requests[1].messages.length, 2);
    const line = JSON.parse(readFileSync(join(ctx.runDir, 'transcripts.jsonl'), 'utf8').split('\n')[0]);
    assert.equal(line.attempts[1].retry, 'vary-seed');
  });
});
