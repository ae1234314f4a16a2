/**
 * The AFL runner end to end over real HTTP (local scripted server, real openai SDK): well-formed,
 * malformed, item-not-in-list, 500 and slow replies across 30 LastFM users; bounded retries, failures
 * counted and visible in transcripts.jsonl and dialogue-turn events, no lost user, the concurrency
 * limit, and a rerun served entirely from the cache.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCandidates } from '../../core/data/candidates';
import { runAflExperiment } from '../../core/afl/experiment';
import type { DialogueTurnEvent } from '../../core/experiment/events';
import { lastfmAfl, makeContext } from '../../harness/aflContext';
import { agentOf, promptText, recReply, startServer, userReply, type ChatRequest } from '../../harness/llmServer';
import { ROOT, shared } from '../../harness/paths';
import { scaledMs } from '../../harness/load';

const N = 30;
const rows = readCandidates(shared('lastfm', 'test_candidates.jsonl')).slice(0, N);

/** Which test user a request is about (its history line is unique among the 30). */
function userOf(req: ChatRequest): number {
  const text = promptText(req);
  const i = rows.findIndex(
    (r) =>
      text.includes(`listened to ${r.seqNames.join(', ')} in the previous`) ||
      text.includes(`the following music artists: ${r.seqNames.join(', ')}.`),
  );
  if (i < 0) throw new Error('request about an unknown user');
  return i;
}

const seen = new Map<string, number>();
/**
 * Behaviour by user index mod 6:
 *  0 well-formed (rec: a non-target candidate, then the target; user: yes iff target);
 *  1 malformed rec replies on the first 2 attempts of each call, then well-formed;
 *  2 always malformed (permanent failure -> miss);
 *  3 recommends an item not in the list first, then the target;
 *  4 HTTP 500 on the first try of every request, slow (80 ms) replies;
 *  5 round-1 rec request: HTTP 429 (retry-after-ms 30) on the first try, no answer (client timeout) on
 *    the second, then fine.
 */
function script(req: ChatRequest) {
  const u = userOf(req);
  const r = rows[u];
  const kind = u % 6;
  const key = JSON.stringify(req.messages);
  const tries = (seen.get(key) ?? 0) + 1;
  seen.set(key, tries);
  const text = promptText(req);
  const laterRound = /history of communication/.test(text);
  if (agentOf(req) === 'rec') {
    if (kind === 2) return { content: 'I would pick something nice.' };
    if (kind === 4 && tries === 1) return { status: 500 };
    if (kind === 5 && !laterRound && tries === 1) return { status: 429, headers: { 'retry-after-ms': '30' } };
    if (kind === 5 && !laterRound && tries === 2) return { hang: true };
    const first = kind === 3 ? 'Nonexistent Artist 9000' : r.cansNames.find((n) => n !== r.correctAnswer)!;
    return { content: recReply(laterRound ? ` ${r.correctAnswer.toUpperCase()} ` : first), delayMs: kind === 4 ? 80 : 5 };
  }
  if (kind === 4 && tries === 1) return { status: 500 };
  const item = /recommended by the recommendation system is: (.*)\.\n/.exec(text)?.[1] ?? '';
  return { content: userReply(item.toLowerCase() === r.correctAnswer.toLowerCase()), delayMs: kind === 4 ? 80 : 5 };
}

test('AFL over HTTP: failures bounded, counted and visible; no lost user; concurrency held; rerun from cache makes zero calls', async () => {
  // Malformed-first users: the first 2 *attempts* (separate requests in the cache) fail to parse.
  const wrapped = (req: ChatRequest) => {
    const u = userOf(req);
    if (u % 6 === 1 && agentOf(req) === 'rec') {
      const key = `m:${JSON.stringify(req.messages.slice(0, 2))}`; // the turn's own prompt: a corrective turn adds messages after it
      const k = (seen.get(key) ?? 0) + 1;
      seen.set(key, k);
      if (k <= 2) return { content: k === 1 ? 'Item: A\nItem: B' : 'no format at all' };
    }
    return script(req);
  };
  const server = await startServer(wrapped);
  // The per-call deadline (and the model check's, min(timeoutMs, 10 s)) must let a normal local reply
  // through on this machine now: 1200 ms on an idle core, stretched by the measured load. Kind 5 waits it out once.
  const T = scaledMs(1200);
  const cacheDir = mkdtempSync(join(tmpdir(), 'afl-http-cache-'));
  const config = lastfmAfl('afl-http-test', {
    agents: 'llm',
    users: { limit: N },
    maxRounds: 4,
    parseRetries: 3,
    llm: {
      baseURL: server.url,
      model: 'test-model',
      concurrency: 4,
      timeoutMs: T,
      maxRetries: 2,
      cacheDir,
      prices: { 'test-model': { input: 0.15, output: 0.6 } },
    },
  });
  const prevKey = process.env.FLOWLOOP_LLM_API_KEY;
  process.env.FLOWLOOP_LLM_API_KEY = 'sk-loop-test-key';
  try {
    const ctx = makeContext(config, join(ROOT, 'examples', 'afl-test.flowloop.json'));
    const m = (await runAflExperiment(ctx)) as any;
    const rec = m.recommendation;
    // No lost user, failures exactly the always-malformed users.
    assert.equal(m.users, N);
    assert.equal(rec.afl.users, N);
    const failedUsers = rec.failures.map((f: any) => f.user).sort((a: number, b: number) => a - b);
    assert.deepEqual(
      failedUsers,
      rows.filter((_, i) => i % 6 === 2).map((r) => r.id),
    );
    assert.ok(rec.failures.every((f: any) => /rec agent, round 1: no parsable reply after 4 attempts/.test(f.failure)));
    // Parse failures: 6 users × 4 attempts (permanent) + 6 users × 2 (then fine, round 1 only: later rounds are new requests).
    const perm = 5 * 4;
    assert.ok(rec.parseFailures >= perm + 5 * 2, `parse failures ${rec.parseFailures}`);
    assert.equal(rec.itemsNotInCandidates, 5);
    assert.ok(rec.httpRetries >= 5 * 2 + 5 * 2, 'kind 4: every request failed once with 500; kind 5: 429 then a timeout');
    // Hits: every non-failing user ends on the target in round 2 (kind 0/1/3/4 reject round 1's wrong item).
    assert.equal(rec.afl.hits, N - 5);
    assert.equal(rec.curve[0].hits, 0);
    assert.equal(rec.curve[1].hits, N - 5);
    // Concurrency limit across users, counted at the server.
    assert.ok(server.maxConcurrent <= 4, `max in flight ${server.maxConcurrent}`);
    assert.equal(m.llm.maxInFlight, 4, 'the client used its 4 slots');
    assert.equal(m.llm.httpCalls, server.calls);
    // Transcripts: every turn on disk and as dialogue-turn events, failures visible.
    const lines = readFileSync(join(ctx.runDir, 'transcripts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const turns = ctx.events.filter((e): e is DialogueTurnEvent => e.type === 'dialogue-turn');
    assert.equal(lines.length, turns.length);
    assert.ok(turns.every((t) => t.agentKind === 'llm'));
    const failedTurn = lines.find((l) => l.user === rows[2].id && l.agent === 'rec');
    assert.equal(failedTurn.failed, true);
    assert.equal(failedTurn.parseFailures, 4);
    assert.equal(failedTurn.attempts.length, 4);
    assert.ok(failedTurn.errors.some((e: string) => /permanent failure, counted as a miss/.test(e)));
    const notIn = turns.find((t) => t.user === rows[3].id && t.agent === 'rec' && t.round === 1)!;
    assert.equal(notIn.inCandidates, false);
    assert.ok(notIn.errors!.some((e) => /not in the candidate list/.test(e)));
    const timedOut = lines.find((l) => l.user === rows[5].id && l.agent === 'rec');
    // 429 then no answer; on a very busy machine the 429 itself may arrive after the timeout.
    assert.ok(
      timedOut.errors.some((e: string) => new RegExp(`timeout after ${T} ms`).test(e)),
      timedOut.errors.join(' | '),
    );
    assert.ok(timedOut.errors.some((e: string) => /HTTP 429|timeout/.test(e.split('\n')[0])));
    assert.ok(timedOut.httpRetries >= 2);
    assert.equal(timedOut.failed, false);
    const retried = lines.find((l) => l.user === rows[4].id && l.agent === 'rec');
    assert.ok(retried.errors.some((e: string) => /HTTP 500/.test(e)));
    assert.equal(retried.httpRetries, 1);
    const focusTurn = turns.find((t) => t.user === rows[0].id && t.agent === 'user')!;
    assert.deepEqual(focusTurn.focus, rows[0].sasrecEvalFocusTopQuarter);
    assert.match(focusTurn.prompt, /[Yy]ou can focus on considering these music artists: /);
    assert.ok(!/-?\d+\.\d{4,}/.test(focusTurn.prompt), 'the focus list has names only, no scores');
    assert.ok(m.llm.promptTokens > 0 && m.llm.costUsd > 0);

    // Rerun with the same cache: zero HTTP calls, same results.
    const before = server.calls;
    const ctx2 = makeContext(config, join(ROOT, 'examples', 'afl-test.flowloop.json'));
    const m2 = (await runAflExperiment(ctx2)) as any;
    assert.equal(server.calls, before, 'no HTTP call on the rerun');
    assert.equal(m2.llm.httpCalls, 0);
    assert.ok(m2.llm.cacheHits > 0);
    assert.deepEqual(m2.recommendation.curve, rec.curve);
    assert.equal(m2.recommendation.parseFailures, rec.parseFailures, 'parse failures replay from the cache too');
    assert.ok(ctx2.tableLines.some((l) => /0 HTTP/.test(l)));
  } finally {
    if (prevKey === undefined) delete process.env.FLOWLOOP_LLM_API_KEY;
    else process.env.FLOWLOOP_LLM_API_KEY = prevKey;
    await server.close();
  }
});

test('released pack over HTTP: byte-exact round-1 prompt; rec memory prompt later; userMemoryInLoop false never shows the user memory', async () => {
  const released = JSON.parse(readFileSync(shared('lastfm', 'prompts_released.json'), 'utf8')).loop;
  const server = await startServer((req) =>
    agentOf(req) === 'rec'
      ? { content: recReply(rows.find((r) => promptText(req).includes(r.seqNames.join(', ')))!.cansNames[0]) }
      : { content: userReply(false) },
  );
  const base = {
    pack: 'released',
    agents: 'llm',
    users: { limit: 3 },
    maxRounds: 3,
    llm: { baseURL: server.url, concurrency: 2, cache: false },
  };
  process.env.FLOWLOOP_LLM_API_KEY ??= 'sk-loop-test-key';
  try {
    for (const inLoop of [true, false]) {
      server.resetCounters();
      const ctx = makeContext(
        lastfmAfl(`released-${inLoop}`, { ...base, userMemoryInLoop: inLoop }),
        join(ROOT, 'examples', 'afl-test.flowloop.json'),
      );
      await runAflExperiment(ctx);
      const r0 = rows[0];
      const recFirst = server.requests.find(
        (q) => agentOf(q) === 'rec' && promptText(q).includes(r0.seqNames.join(', ')) && !promptText(q).includes('previously'),
      )!;
      const prior = readFileSync(shared('lastfm', 'prior_sasrec.csv'), 'utf8').split('\n')[1].split(',')[1];
      const args = [r0.seqNames.join(', '), '20', r0.cansNames.join(', '), prior];
      let k = 0;
      assert.equal(
        recFirst.messages[1].content,
        released.rec_user_prompt.replace(/\{\}/g, () => args[k++]),
        'byte-exact released prompt',
      );
      assert.equal(recFirst.messages[0].content, released.rec_system_prompt);
      const userPrompts = server.requests.filter((q) => agentOf(q) === 'user').map(promptText);
      assert.equal(userPrompts.length, 9);
      const withMemory = userPrompts.filter((t) =>
        t.includes('Here are the music artists previously recommended by the recommendation system'),
      ).length;
      assert.equal(withMemory, inLoop ? 6 : 0, `userMemoryInLoop ${inLoop}`);
      const recMemory = server.requests.filter(
        (q) => agentOf(q) === 'rec' && promptText(q).includes('Here are the music artists you previously recommended'),
      ).length;
      assert.equal(recMemory, 6, 'rec agent reads its memory in rounds 2-3 either way');
    }
  } finally {
    await server.close();
  }
});
