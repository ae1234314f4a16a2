import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatResult, LlmClient, LlmSettings, LlmStats } from '../../core/afl/llm/client';
import { expectEveryAttemptTimesOut, testClient } from '../../harness/llmClient';
import { withServer, type Script } from '../../harness/llmServer';
import { loadFactor, scaledMs } from '../../harness/load';

const KEY = 'sk-test-secret-key-123';
const msgs = (s: string) => [
  { role: 'system' as const, content: 'You are a test.' },
  { role: 'user' as const, content: s },
];

const client = (url: string, over: Partial<LlmSettings> = {}): LlmClient => testClient(url, over, { key: KEY });

/** One chat call of a fresh client against a fresh server answering with `script`: its result, the server's request count, the client's stats. */
async function chatOnce(script: Script, text: string, over: Partial<LlmSettings> = {}) {
  let out!: { r: ChatResult; calls: number; stats: LlmStats };
  await withServer(script, async (s) => {
    const c = client(s.url, over);
    const r = await c.chat(msgs(text));
    out = { r, calls: s.calls, stats: c.stats };
  });
  return out;
}

test('a well-formed reply comes back through the real openai SDK with token accounting and the key sent only as a header', async () => {
  await withServer(
    () => ({ content: 'Reason: ok\nItem: X' }),
    async (s) => {
      const c = client(s.url, { costPer1kTokens: { input: 1, output: 2 } });
      const r = await c.chat(msgs('hello'));
      assert.equal(r.ok, true);
      assert.equal(r.text, 'Reason: ok\nItem: X');
      assert.equal(r.httpCalls, 1);
      assert.ok(r.promptTokens > 0 && r.completionTokens > 0);
      assert.equal(s.requests[0].model, 'test-model');
      assert.equal(s.requests[0].temperature, 0);
      assert.deepEqual(s.requests[0].messages, msgs('hello'));
      assert.equal(s.authHeaders[0], `Bearer ${KEY}`);
      assert.ok(!JSON.stringify(s.requests[0]).includes(KEY), 'key not in the body');
      assert.equal(c.stats.costUsd, (r.promptTokens * 1 + r.completionTokens * 2) / 1000);
    },
  );
});

test("429 is retried after the server's retry-after, bounded by maxRetries, every failure counted", async () => {
  await withServer(
    (_req, n) => (n < 2 ? { status: 429, headers: { 'retry-after': '0.2' } } : { content: 'fine' }),
    async (s) => {
      const c = client(s.url);
      const t0 = Date.now();
      const r = await c.chat(msgs('a'));
      const elapsed = Date.now() - t0;
      assert.equal(r.ok, true);
      assert.equal(r.retries, 2);
      assert.equal(r.httpCalls, 3);
      assert.equal(s.calls, 3);
      assert.equal(r.errors.length, 2);
      assert.match(r.errors[0], /HTTP 429/);
      assert.ok(elapsed >= 390, `waited ${elapsed} ms, retry-after asked 2 × 200 ms`);
    },
  );
  await withServer(
    () => ({ status: 429, headers: { 'retry-after-ms': '5' } }),
    async (s) => {
      const c = client(s.url, { maxRetries: 3 });
      const r = await c.chat(msgs('b'));
      assert.equal(r.ok, false);
      assert.equal(s.calls, 4, 'first attempt + 3 retries, then stop');
      assert.equal(r.errors.length, 4);
      assert.equal(c.stats.failedCalls, 1);
      assert.equal(c.stats.retries, 3);
    },
  );
});

test('500 is retried with backoff; 400 is not retried; a broken body is a counted failure', async () => {
  const e500 = await chatOnce((_req, n) => (n < 2 ? { status: 500 } : { content: 'ok' }), 'c');
  assert.equal(e500.r.ok, true);
  assert.equal(e500.calls, 3);
  assert.match(e500.r.errors[1], /HTTP 500/);
  const e400 = await chatOnce(() => ({ status: 400 }), 'd');
  assert.equal(e400.r.ok, false);
  assert.equal(e400.calls, 1);
  assert.match(e400.r.errors[0], /HTTP 400/);
  const broken = await chatOnce(() => ({ raw: '{"choices": [' }), 'e');
  assert.equal(broken.r.ok, false);
  assert.ok(broken.r.errors.length >= 1);
  assert.equal(broken.stats.failedCalls, 1);
});

test('a server that never answers times out, is retried a bounded number of times and never hangs', async () => {
  await withServer(
    () => ({ hang: true }),
    async (s) => {
      // long enough for the request to reach the server on this machine now (stretched by its load)
      const f = loadFactor();
      const T = scaledMs(150, f);
      const c = client(s.url, { timeoutMs: T, maxRetries: 2 });
      await expectEveryAttemptTimesOut(s, c, msgs('f'), scaledMs(3000, f), 'a chat with a server that never answers');
    },
  );
  const { r } = await chatOnce(() => ({ content: 'slow but fine', delayMs: 120 }), 'g', { timeoutMs: scaledMs(5000) });
  assert.equal(r.ok, true);
  assert.equal(r.retries, 0);
});

test('the concurrency limit holds across many simultaneous callers (counted at the server)', async () => {
  await withServer(
    () => ({ content: 'x', delayMs: 150 }),
    async (s) => {
      const c = client(s.url, { concurrency: 5 });
      const rs = await Promise.all(Array.from({ length: 30 }, (_, i) => c.chat(msgs(`q${i}`))));
      assert.ok(rs.every((r) => r.ok));
      assert.equal(s.calls, 30);
      assert.equal(s.maxConcurrent, 5, 'exactly the limit in flight at the peak');
      assert.ok(c.stats.maxInFlight <= 5);
    },
  );
});

test('the on-disk cache serves a repeated request with zero HTTP calls; parse-retry attempts are separate entries; no key on disk', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'afl-cache-'));
  await withServer(
    (req) => ({ content: `reply to ${req.messages[1].content}` }),
    async (s) => {
      const c1 = client(s.url, { cacheDir: dir });
      await c1.chat(msgs('same'));
      await c1.chat(msgs('same'), { attempt: 1 });
      assert.equal(s.calls, 2);
      const c2 = client(s.url, { cacheDir: dir });
      const a = await c2.chat(msgs('same'));
      const b = await c2.chat(msgs('same'), { attempt: 1 });
      assert.equal(s.calls, 2, 'no new HTTP calls');
      assert.equal(a.fromCache && b.fromCache, true);
      assert.equal(a.text, 'reply to same');
      assert.equal(c2.stats.httpCalls, 0);
      assert.equal(c2.stats.cacheHits, 2);
      const other = await client(s.url, { cacheDir: dir, temperature: 0.7 }).chat(msgs('same'));
      assert.equal(other.fromCache, false, 'temperature is part of the key');
      assert.equal(s.calls, 3);
    },
  );
  for (const sub of readdirSync(dir))
    for (const f of readdirSync(join(dir, sub))) {
      assert.ok(!readFileSync(join(dir, sub, f), 'utf8').includes(KEY), 'the API key is never written');
    }
});

test('an error body that echoes the API key is masked before it reaches errors or transcripts', async () => {
  const { r, calls } = await chatOnce(
    () => ({ status: 401, raw: JSON.stringify({ error: { message: `Incorrect API key provided: ${KEY}. Also sk-abcdefghijklmnop.` } }) }),
    'h',
  );
  assert.equal(r.ok, false);
  assert.equal(calls, 1, '401 is not retried');
  assert.match(r.errors[0], /HTTP 401/);
  assert.ok(!r.errors[0].includes(KEY), r.errors[0]);
  assert.ok(!r.errors[0].includes('abcdefghijklmnop'), r.errors[0]);
});
