/**
 * The LLM client as the tests build it against the local server (harness/llmServer.ts): no cache, a 2 s
 * deadline, 2 retries with a 10 ms backoff, 4 calls at once; a test overrides what it checks. And the
 * check of a call whose every attempt runs out of time.
 */
import assert from 'node:assert/strict';
import { LlmClient, type Budget, type ChatMessage, type LlmSettings } from '../core/afl/llm/client';
import { within } from './load';
import type { TestServer } from './llmServer';

export function testClient(
  url: string,
  over: Partial<LlmSettings> = {},
  opts: { key?: string; seed?: number; budget?: Budget } = {},
): LlmClient {
  return new LlmClient(
    {
      baseURL: url,
      model: 'test-model',
      temperature: 0,
      concurrency: 4,
      timeoutMs: 2000,
      maxRetries: 2,
      cacheDir: null,
      backoffBaseMs: 10,
      ...over,
    },
    opts.key ?? 'sk-test-key',
    opts.seed ?? 1,
    opts.budget,
  );
}

/**
 * One call of `c` to server `s`, whose every reply misses the client's deadline T (it hangs or stalls): the
 * call fails after exactly its first attempt + maxRetries, each a timeout, and gives up no sooner than
 * attempts × T; past attempts × T + `slackMs` `within` fails the test as a hang (`what` names the call).
 */
export async function expectEveryAttemptTimesOut(
  s: TestServer,
  c: LlmClient,
  messages: ChatMessage[],
  slackMs: number,
  what: string,
): Promise<void> {
  const T = c.settings.timeoutMs;
  const attempts = c.settings.maxRetries + 1;
  const t0 = Date.now();
  const r = await within(c.chat(messages), attempts * T + slackMs, what);
  const ms = Date.now() - t0;
  assert.equal(r.ok, false);
  assert.equal(s.calls, attempts, `first attempt + maxRetries ${attempts - 1}, no more`);
  assert.deepEqual(
    r.errors.map((e) => new RegExp(`timeout after ${T} ms`).test(e)),
    Array.from({ length: attempts }, () => true),
  );
  assert.ok(ms >= attempts * T - 10, `gave up after ${ms} ms, before ${attempts} × its ${T} ms deadline`);
}
