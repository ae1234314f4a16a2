/**
 * AFL concurrency benchmark: a local OpenAI-compatible server (own process) that
 * adds 200 ms to every call, concurrency 16, all 122 LastFM users × 4 rounds (the scripted user agent
 * always says no, so every user makes exactly 4 rec + 4 user calls = 976 calls). Ideal wall time =
 * calls × 200 ms / 16; target ≤ 1.15 × ideal. Runs the real `afl` kind runner (real openai SDK, real
 * HTTP, cache off). The ratio uses the loop's wall time measured at the server (first request received
 * -> last reply sent); the runner's total (with data loading) is reported beside it. Also reports the client's CPU time and the machine's load, because on a machine
 * whose cores are busy with other work the client's per-call CPU (not the scheduling) sets the time.
 * Prints one JSON line: { ratio, summary, ... }.   Run: node --import tsx bench/afl/bench.ts
 */
import { fork } from 'node:child_process';
import { loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { runAflExperiment } from '../../core/afl/experiment';
import { LlmClient } from '../../core/afl/llm/client';
import { makeContext } from '../../harness/aflContext';
import { ROOT, shared } from '../../harness/paths';
import { loadAverage, recordResult } from '../results';

const DELAY_MS = Number(process.env.AFL_BENCH_DELAY_MS ?? 200);
const CONCURRENCY = Number(process.env.AFL_BENCH_CONCURRENCY ?? 16);

async function main() {
  const loadBefore = loadAverage();
  const child = fork(join(__dirname, 'serverChild.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, AFL_BENCH_DELAY_MS: String(DELAY_MS) },
  });
  const ask = <T>(type: string) =>
    new Promise<T>((res) => {
      const on = (m: any) => {
        if (m?.type === type) {
          child.off('message', on);
          res(m);
        }
      };
      child.on('message', on);
      if (type !== 'ready') child.send({ type });
    });
  const { url } = await ask<{ url: string }>('ready');
  const config = {
    kind: 'afl',
    name: 'afl-bench',
    dataset: shared('lastfm'),
    prior: shared('lastfm', 'prior_sasrec.csv'),
    rewardModel: 'candidates-file',
    agents: 'llm',
    maxRounds: 4,
    evaluations: ['recommendation'],
    llm: { baseURL: url, model: 'bench', concurrency: CONCURRENCY, cache: false, timeoutMs: 30000 },
  };
  process.env.FLOWLOOP_LLM_API_KEY ??= 'bench-no-key';
  try {
    // Warm-up (JIT of the SDK / HTTP paths) so that neither the loop nor the peer runs cold.
    const warm = new LlmClient(
      { baseURL: url, model: 'peer', temperature: 0, concurrency: CONCURRENCY, timeoutMs: 30000, maxRetries: 0, cacheDir: null },
      'bench-no-key',
      1,
    );
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        warm.chat([
          { role: 'system', content: 'warm-up '.repeat(200) },
          { role: 'user', content: `warm ${i}` },
        ]),
      ),
    );
    await ask('reset');
    const ctx = makeContext(config, join(ROOT, 'examples', 'afl-lastfm.flowloop.json'));
    const load0 = loadavg()[0];
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const m = (await runAflExperiment(ctx)) as any;
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const { calls, maxConcurrent, connections, loopMs } = await ask<{
      calls: number;
      maxConcurrent: number;
      connections: number;
      loopMs: number;
    }>('stats');
    // Peer, measured now on the same machine: the same number of calls, of the same prompt size, perfectly packed (CONCURRENCY
    // workers issuing calls back to back through one LlmClient) — what the hardware allows at this load.
    await ask('reset');
    const peer = new LlmClient(
      { baseURL: url, model: 'peer', temperature: 0, concurrency: CONCURRENCY, timeoutMs: 30000, maxRetries: 0, cacheDir: null },
      'bench-no-key',
      1,
    );
    // Same prompt size as the loop's (the server counts ceil(chars / 4) tokens per message).
    const pad = 'x'.repeat(Math.max(0, Math.round((m.llm.promptTokens / Math.max(1, calls)) * 4) - 16));
    let next = 0;
    const peerCpu0 = process.cpuUsage();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < calls) await peer.chat([{ role: 'user', content: `peer ${next++} ${pad}` }]);
      }),
    );
    const peerCpu = process.cpuUsage(peerCpu0);
    const peerCpuMsPerCall = (peerCpu.user + peerCpu.system) / 1000 / calls;
    const { loopMs: peerMs } = await ask<{ loopMs: number }>('stats');
    const idealMs = (calls * DELAY_MS) / CONCURRENCY;
    const ratio = loopMs / idealMs;
    const cpuMs = (cpu.user + cpu.system) / 1000;
    recordResult('afl', loadBefore, {
      ratio: Number(ratio.toFixed(4)),
      target: 1.15,
      pass: ratio <= 1.15,
      users: m.users,
      rounds: 4,
      calls,
      delayMs: DELAY_MS,
      concurrency: CONCURRENCY,
      maxConcurrentAtServer: maxConcurrent,
      tcpConnections: connections,
      loopMs,
      peerMs,
      ratioVsPeer: Number((loopMs / peerMs).toFixed(4)),
      runnerWallMs: Math.round(wallMs),
      idealMs: Math.round(idealMs),
      clientCpuMs: Math.round(cpuMs),
      clientCpuMsPerCall: Number((cpuMs / calls).toFixed(2)),
      peerCpuMsPerCall: Number(peerCpuMsPerCall.toFixed(2)),
      loadavg1: Number(load0.toFixed(2)),
      cores: cpus().length,
      failedUsers: m.recommendation.failedUsers,
      summary: `${calls} calls, loop ${loopMs} ms (runner ${Math.round(wallMs)} ms incl. data loading) vs ideal ${Math.round(idealMs)} ms: ratio ${ratio.toFixed(3)} (target ≤ 1.15); perfectly packed peer now ${peerMs} ms (loop/peer ${(loopMs / peerMs).toFixed(3)}), max ${maxConcurrent} in flight, runner CPU (incl. data loading) ${(cpuMs / calls).toFixed(1)} ms/call, peer ${peerCpuMsPerCall.toFixed(1)} ms/call, load ${load0.toFixed(1)} on ${cpus().length} cores`,
    });
  } finally {
    child.send({ type: 'close' });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
