/**
 * Resume of an interrupted AFL run (finished users kept and skipped, not replayed from a cache), the
 * first-round prompt preview (no HTTP call; the same messages a run sends), and the built-in agents'
 * label in sweep results.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAflExperiment } from '../../core/afl/experiment';
import { previewPrompts } from '../../core/afl/preview';
import { runExperiment } from '../../core/experiment/run';
import { lastfmAfl, makeContext } from '../../harness/aflContext';
import { plainScript, startServer } from '../../harness/llmServer';
import { ROOT, TSX_IMPORT } from '../../harness/paths';

const configPath = join(ROOT, 'examples', 'afl-test.flowloop.json');
const cfg = (url: string, over: Record<string, unknown> = {}, llm: Record<string, unknown> = {}) =>
  lastfmAfl('resume', {
    agents: 'llm',
    users: { limit: 6 },
    maxRounds: 2,
    llm: { baseURL: url, model: 'test-model', concurrency: 1, cache: false, checkModel: false, ...llm },
    ...over,
  });

test('resume: a budget-stopped run continues from its folder; its finished users are kept and not run again (no cache)', async () => {
  process.env.FLOWLOOP_LLM_API_KEY ??= 'sk-test';
  const server = await startServer(plainScript);
  try {
    const first = makeContext(cfg(server.url, {}, { budget: { maxCalls: 21 } }), configPath);
    const m1 = (await runAflExperiment(first)) as any;
    assert.equal(m1.stopped, 'budget');
    const done = m1.recommendation.finishedUsers as number;
    assert.ok(done >= 1 && done < 6);
    const finishedIds = readFileSync(join(first.runDir, 'outcomes.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).outcome.user);
    assert.equal(finishedIds.length, done);
    server.resetCounters();
    const second = makeContext(cfg(server.url, { resume: first.runDir }), configPath);
    const m2 = (await runAflExperiment(second)) as any;
    assert.equal(m2.stopped, undefined);
    assert.equal(m2.recommendation.afl.users, 6, 'every user scored');
    assert.equal(m2.recommendation.resumedUsers, done);
    assert.equal(server.calls, (6 - done) * 4, 'only the unfinished users were run (2 rounds × 2 agents each)');
    assert.ok(
      second.events.some(
        (e) => e.type === 'log' && /resume: \d+ of 6 users of "afl" were finished by the earlier run: kept, not run again/.test(e.message),
      ),
    );
    assert.ok(second.tableLines.some((l) => /^Resumed from .*: \d+ finished user outcome\(s\) taken over/.test(l)));
    assert.equal(
      readFileSync(join(second.runDir, 'outcomes.jsonl'), 'utf8').trim().split('\n').length,
      6,
      'the new folder holds every outcome',
    );
  } finally {
    await server.close();
  }
});

test("afl preview renders a user's round-1 prompts with no HTTP call: the same messages a run sends", async () => {
  process.env.FLOWLOOP_LLM_API_KEY ??= 'sk-test';
  const server = await startServer(plainScript);
  try {
    const dir = mkdtempSync(join(tmpdir(), 'afl-preview-'));
    const file = join(dir, 'p.flowloop.json');
    writeFileSync(file, JSON.stringify(cfg(server.url, { users: { limit: 3 }, maxRounds: 1 })));
    const p = await previewPrompts(file, { index: 2 });
    assert.equal(server.calls, 0, 'no HTTP call');
    assert.equal(p.index, 2);
    const ctx = makeContext(cfg(server.url, { users: { limit: 3 }, maxRounds: 1 }), configPath);
    await runAflExperiment(ctx);
    const sent = server.requests.find((q) => JSON.stringify(q.messages) === JSON.stringify(p.rec));
    assert.ok(sent, `the preview's rec messages are among the run's requests:\n${JSON.stringify(p.rec).slice(0, 300)}`);
    assert.match(
      p.userAgent.map((m) => m.content).join('\n'),
      /The reason provided by the recommendation system is: <the recommendation agent's reason>/,
    );
    // the CLI, pointed at a dead endpoint: it never calls it
    const r = spawnSync(
      process.execPath,
      [...TSX_IMPORT, join(ROOT, 'core', 'cli.ts'), 'afl', 'preview', file, '--user', '1', '--set', 'llm.baseURL=http://127.0.0.1:1/v1'],
      { encoding: 'utf8', cwd: dir },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^AFL prompt preview: user \d+ \(index 1 of 3/);
    assert.match(r.stdout, /=== recommendation agent, round 1\n--- system\n/);
    assert.match(r.stdout, /=== user agent, round 1 /);
    const bad = spawnSync(process.execPath, [...TSX_IMPORT, join(ROOT, 'core', 'cli.ts'), 'afl', 'preview', file, '--user', '7'], {
      encoding: 'utf8',
      cwd: dir,
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--user 7: the config has users 0\.\.2/);
  } finally {
    await server.close();
  }
});

test('a sweep of the built-in agents says "rule-based, not an LLM" in results.csv, results.txt, sweep.json and the plots', async () => {
  const ws = mkdtempSync(join(tmpdir(), 'afl-sweep-label-'));
  const config = lastfmAfl('label-sweep', { users: { limit: 4 }, sweep: { parameters: [{ path: 'maxRounds', values: [1, 2] }] } });
  const r = await runExperiment({ configPath, configObject: config, workspace: ws });
  assert.equal(r.status, 'finished', r.error);
  const dir = r.runDir;
  const csv = readFileSync(join(dir, 'results.csv'), 'utf8').split('\n');
  assert.match(csv[0], /,produced_by$/);
  assert.match(csv[1], /,"AFL agents: rule-based, not an LLM"$/);
  assert.match(readFileSync(join(dir, 'results.txt'), 'utf8'), /^produced by: AFL agents: rule-based, not an LLM\n/);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8')).producedBy, ['AFL agents: rule-based, not an LLM']);
  const plots = readdirSync(join(dir, 'plots'));
  assert.ok(plots.length > 0);
  assert.ok(
    plots.every((f) => readFileSync(join(dir, 'plots', f), 'utf8').includes('rule-based, not an LLM')),
    'every plot title',
  );
});
