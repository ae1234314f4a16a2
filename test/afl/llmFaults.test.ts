/**
 * The LLM client against faults a real endpoint shows (real HTTP on 127.0.0.1, the real openai SDK):
 * a body that stalls after the headers, a 200 HTML page, a cancel in flight, an unreachable host, a
 * refused key, an unknown model; and the cache key (endpoint, sampling parameters, seed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Budget, EndpointError, type LlmClient, type LlmSettings } from '../../core/afl/llm/client';
import { expectEveryAttemptTimesOut, testClient } from '../../harness/llmClient';
import { startServer, withServer } from '../../harness/llmServer';
import { loadFactor, scaledMs, within } from '../../harness/load';

const msgs = (s: string) => [{ role: 'user' as const, content: s }];

const client = (url: string, over: Partial<LlmSettings> = {}, seed = 1, budget?: Budget): LlmClient =>
  testClient(url, over, { seed, budget });

test('a reply whose body stalls after the headers hits the per-call deadline, counts as a timeout and is retried', async () => {
  // Deadlines long enough for a normal reply on this machine now (stretched by its measured load); the
  // stalled body never ends, so without a deadline over the whole exchange `within` reports a hang.
  const f = loadFactor();
  const T = scaledMs(1500, f);
  await withServer(
    (_r, n) => (n === 0 ? { content: 'never finished', stallBody: true } : { content: 'second try' }),
    async (s) => {
      const c = client(s.url, { timeoutMs: T, maxRetries: 2 });
      const t0 = Date.now();
      const r = await within(c.chat(msgs('a')), 3 * T + scaledMs(5000, f), 'a chat whose first reply stalls');
      const ms = Date.now() - t0;
      assert.equal(r.ok, true, r.errors.join('; '));
      assert.equal(r.text, 'second try');
      assert.match(r.errors[0], new RegExp(`^attempt 1: timeout after ${T} ms \\(deadline over the whole exchange\\)`));
      assert.equal(r.errors.length, r.retries, 'every failed attempt is one retry');
      assert.equal(s.calls, r.httpCalls, 'the server saw every attempt, nothing more');
      assert.ok(r.httpCalls >= 2 && r.httpCalls <= 3, `${r.httpCalls} attempts with maxRetries 2`);
      assert.equal(c.stats.failedCalls, 0);
      assert.ok(ms >= T - 5, `the stalled attempt ended after ${ms} ms, before its ${T} ms deadline`);
    },
  );
  const T2 = scaledMs(300, f);
  await withServer(
    () => ({ content: 'x', stallBody: true }),
    async (s) => {
      const c = client(s.url, { timeoutMs: T2, maxRetries: 1 });
      await expectEveryAttemptTimesOut(s, c, msgs('b'), scaledMs(5000, f), 'a chat whose replies all stall');
      assert.equal(c.stats.failedCalls, 1);
      assert.equal(c.stats.httpErrors, 2, 'both deadlines counted');
    },
  );
});

test('a 200 reply that is an HTML page (labelled text/html or application/json) is retried', async () => {
  const html = '<html><body><h1>502 Bad Gateway</h1></body></html>';
  for (const type of ['text/html', 'application/json']) {
    await withServer(
      (_r, n) => (n === 0 ? { raw: html, headers: { 'content-type': type } } : { content: 'Reason: r\nItem: X' }),
      async (s) => {
        const r = await client(s.url).chat(msgs('c'));
        assert.equal(r.ok, true, `${type}: ${r.errors.join('; ')}`);
        assert.equal(s.calls, 2, `${type}: retried once`);
        assert.match(r.errors[0], /not JSON/);
      },
    );
  }
});

test('a call cut by a cancel is not counted as a failure', async () => {
  await withServer(
    () => ({ content: 'late', delayMs: 2000 }),
    async (s) => {
      const c = client(s.url, { timeoutMs: 5000 });
      const ac = new AbortController();
      setTimeout(() => ac.abort('user cancelled'), 150);
      const r = await c.chat(msgs('d'), { signal: ac.signal });
      assert.equal(r.ok, false);
      assert.equal(r.cancelled, true);
      assert.equal(c.stats.failedCalls, 0);
      assert.equal(c.stats.httpErrors, 0);
      assert.equal(c.stats.cancelledCalls, 1);
    },
  );
});

test('the cache key holds the endpoint, every sampling parameter and (temperature > 0) the run seed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'afl-cache-key-'));
  const a = await startServer((_r, n) => ({ content: `A${n}` }));
  const b = await startServer((_r, n) => ({ content: `B${n}` }));
  try {
    await client(a.url, { cacheDir: dir }).chat(msgs('same'));
    const other = await client(b.url, { cacheDir: dir }).chat(msgs('same'));
    assert.equal(other.fromCache, false, 'another baseURL is not replayed');
    assert.equal(other.text, 'B0');
    assert.equal((await client(a.url, { cacheDir: dir }).chat(msgs('same'))).fromCache, true, 'same endpoint + request is replayed');
    for (const over of [
      { topP: 0.9 },
      { maxTokens: 64 },
      { stop: ['\n\n'] },
      { seed: 7 },
      { extraBody: { top_k: 20 } },
    ] as Partial<LlmSettings>[]) {
      const r = await client(a.url, { cacheDir: dir, ...over }).chat(msgs('same'));
      assert.equal(r.fromCache, false, `${JSON.stringify(over)} is part of the key`);
    }
    assert.equal(a.requests.at(-1)!.top_k, 20, 'extra body fields are sent');
    // temperature 0: the run seed does not matter; temperature > 0: it does
    assert.equal((await client(a.url, { cacheDir: dir }, 99).chat(msgs('same'))).fromCache, true);
    const t1 = await client(a.url, { cacheDir: dir, temperature: 0.7 }, 1).chat(msgs('same'));
    const t1again = await client(a.url, { cacheDir: dir, temperature: 0.7 }, 1).chat(msgs('same'));
    const t2 = await client(a.url, { cacheDir: dir, temperature: 0.7 }, 2).chat(msgs('same'));
    assert.equal(t1.fromCache, false);
    assert.equal(t1again.fromCache, true, 'same seed replays');
    assert.equal(t2.fromCache, false, 'another run seed at temperature 0.7 samples afresh');
  } finally {
    await a.close();
    await b.close();
  }
});

test('top_p, max_tokens, seed, stop and extra body fields reach the server', async () => {
  await withServer(
    () => ({ content: 'ok' }),
    async (s) => {
      await client(s.url, { topP: 0.5, maxTokens: 77, seed: 3, stop: ['END'], extraBody: { top_k: 5, model: 'not-this' } }).chat(msgs('e'));
      const r = s.requests[0];
      assert.equal(r.top_p, 0.5);
      assert.equal(r.max_tokens, 77);
      assert.equal(r.seed, 3);
      assert.deepEqual(r.stop, ['END']);
      assert.equal(r.top_k, 5);
      assert.equal(r.model, 'test-model', 'extra fields cannot override the model');
    },
  );
});

test('an unreachable endpoint, a refused key and an unknown model are fatal, with the cause', async () => {
  // a port nobody listens on (a server started and closed), and port 1 (fetch refuses it: "bad port")
  const closed = await startServer(() => ({ content: 'x' }));
  await closed.close();
  for (const [url, why] of [
    [closed.url, /connection refused/],
    ['http://127.0.0.1:1/v1', /bad port/],
  ] as const) {
    const dead = client(url, { maxRetries: 1 });
    const f = loadFactor();
    await assert.rejects(
      within(dead.checkModel(), scaledMs(5000, f), 'the model check of a dead endpoint'),
      (e: Error) => e instanceof EndpointError && e.message.startsWith(`cannot reach ${url}: `) && why.test(e.message),
    );
    const r = await within(dead.chat(msgs('f')), scaledMs(5000, f), 'a chat with a dead endpoint');
    assert.equal(r.ok, false);
    assert.equal(r.httpCalls, 2, 'first attempt + maxRetries 1');
    assert.ok(
      r.errors.every((e) => /connection error/.test(e)),
      `refused at once, never waited for the ${dead.settings.timeoutMs} ms deadline: ${r.errors.join(' | ')}`,
    );
    assert.ok(
      dead.fatal instanceof EndpointError && dead.fatal.message.startsWith(`cannot reach ${url}`) && why.test(dead.fatal.message),
      String(dead.fatal),
    );
  }
  await withServer(
    () => ({ content: 'x' }),
    async (s) => {
      await assert.rejects(
        client(s.url).checkModel(),
        (e: Error) => e instanceof EndpointError && /refused the API key \(HTTP 401/.test(e.message),
      );
      const c = client(s.url);
      const r2 = await c.chat(msgs('g'));
      assert.equal(r2.ok, false);
      assert.equal(s.calls, 0, '401 answered before the chat route');
      assert.match(String(c.fatal?.message), /HTTP 401/);
    },
    { apiKey: 'another-key', models: ['test-model'] },
  );
  await withServer(
    () => ({ content: 'x' }),
    async (s) => {
      await assert.rejects(client(s.url).checkModel(), /does not offer model "test-model" \(it lists "llama-3", "qwen2.5"\)/);
      assert.equal(await client(s.url, { model: 'qwen2.5' }).checkModel(), `${s.url} offers model "qwen2.5"`);
    },
    { models: ['llama-3', 'qwen2.5'] },
  );
  await withServer(
    () => ({ content: 'x' }),
    async (s) => {
      assert.match(await client(s.url).checkModel(), /no usable GET \/models .*model not checked/);
    },
  );
});

test('the budget stops new calls once reached; a call refused by the budget is not a failure', async () => {
  await withServer(
    () => ({ content: 'ok' }),
    async (s) => {
      const budget = new Budget(2);
      const c = client(s.url, {}, 1, budget);
      assert.equal((await c.chat(msgs('1'))).ok, true);
      assert.equal((await c.chat(msgs('2'))).ok, true);
      const r = await c.chat(msgs('3'));
      assert.equal(r.ok, false);
      assert.equal(r.cancelled, true);
      assert.match(r.errors[0], /budget: 2 calls reached \(budget.maxCalls 2\)/);
      assert.equal(s.calls, 2);
      assert.equal(c.stats.failedCalls, 0);
    },
  );
  await withServer(
    () => ({ content: 'a reply of some length to cost tokens' }),
    async (s) => {
      const budget = new Budget(undefined, 0.001);
      const c = client(s.url, { costPer1kTokens: { input: 0.1, output: 0.1 } }, 1, budget);
      let n = 0;
      while ((await c.chat(msgs(`q${n}`))).ok) n++;
      assert.ok(n >= 1 && budget.costUsd >= 0.001, `${n} calls, $${budget.costUsd}`);
      assert.match(String(budget.exhausted), /spent \(budget.maxUsd 0.001\)/);
    },
  );
});
