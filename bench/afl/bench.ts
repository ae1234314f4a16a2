/**
 * AFL concurrency benchmark: a local OpenAI-compatible server (own process) that
 * adds 200 ms to every call, concurrency 16, all 122 LastFM users × 4 rounds (the scripted user agent
 * always says no, so every user makes exactly 4 rec + 4 user calls = 976 calls). Ideal wall time =
 * calls × 200 ms / 16; target ≤ 1.15 × ideal. Runs the real `afl` kind runner (real openai SDK, real
 * HTTP, cache off). The ratio uses the loop's wall time measured at the server (first request received
 * -> last reply sent); the runner's total (with data loading) is reported beside it. Peer, in the same run:
 * the same calls with the same prompt size perfectly packed through one LlmClient, timed the same way.
 * AFL_BENCH_ROUNDS (default 3) alternating rounds; min/median/max over rounds. Also reports the client's CPU
 * time and the machine's load, because on a machine whose cores are busy with other work the client's
 * per-call CPU (not the scheduling) sets the time.
 * Prints one JSON line: { ratio, summary, ... }.   Run: node --import tsx bench/afl/bench.ts
 */
import { fork } from 'node:child_process';
import { loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { runAflExperiment } from '../../core/afl/experiment';
import { LlmClient } from '../../core/afl/llm/client';
import { makeContext } from '../../harness/aflContext';
import { ROOT, shared } from '../../harness/paths';
import { fmtSpread, loadAverage, recordResult, spread } from '../results';

const DELAY_MS = Number(process.env.AFL_BENCH_DELAY_MS ?? 200);
const CONCURRENCY = Number(process.env.AFL_BENCH_CONCURRENCY ?? 16);
const ROUNDS = Math.max(1, Number(process.env.AFL_BENCH_ROUNDS ?? 3) || 3);

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
  type Stats = { calls: number; maxConcurrent: number; connections: number; loopMs: number };
  const client = (model: string) =>
    new LlmClient(
      { baseURL: url, model, temperature: 0, concurrency: CONCURRENCY, timeoutMs: 30000, maxRetries: 0, cacheDir: null },
      'bench-no-key',
      1,
    );
  try {
    // Warm-up (JIT of the SDK / HTTP paths) so that neither the loop nor the peer runs cold.
    const warm = client('peer');
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        warm.chat([
          { role: 'system', content: 'warm-up '.repeat(200) },
          { role: 'user', content: `warm ${i}` },
        ]),
      ),
    );
    /** The real loop (a fresh run context each round): its wall time at the server, the runner's, its CPU. */
    const loop = async () => {
      await ask('reset');
      const ctx = makeContext(config, join(ROOT, 'examples', 'afl-lastfm.flowloop.json'));
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const m = (await runAflExperiment(ctx)) as any;
      const wallMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const st = await ask<Stats>('stats');
      return { m, st, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
    };
    /** Peer: the same number of calls, of the same prompt size, perfectly packed (CONCURRENCY workers issuing
     *  calls back to back through one LlmClient) — what the client and the machine allow at this load. */
    const peerRun = async (calls: number, pad: string) => {
      await ask('reset');
      const peer = client('peer');
      let next = 0;
      const cpu0 = process.cpuUsage();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < calls) await peer.chat([{ role: 'user', content: `peer ${next++} ${pad}` }]);
        }),
      );
      const cpu = process.cpuUsage(cpu0);
      const st = await ask<Stats>('stats');
      return { st, cpuMs: (cpu.user + cpu.system) / 1000 };
    };
    // Alternating rounds: loop, peer | peer, loop | loop, peer … (round 1 starts with the loop, whose calls
    // and prompt size the peer copies; the loop is deterministic, so every round makes the same calls).
    const loops: Awaited<ReturnType<typeof loop>>[] = [];
    const peers: Awaited<ReturnType<typeof peerRun>>[] = [];
    let calls = 0;
    let pad = '';
    for (let r = 0; r < ROUNDS; r++) {
      const doLoop = async () => {
        const l = await loop();
        loops.push(l);
        if (r === 0) {
          calls = l.st.calls;
          // same prompt size as the loop's (the server counts ceil(chars / 4) tokens per message)
          pad = 'x'.repeat(Math.max(0, Math.round((l.m.llm.promptTokens / Math.max(1, calls)) * 4) - 16));
        }
      };
      const doPeer = async () => void peers.push(await peerRun(calls, pad));
      if (r % 2 === 0) {
        await doLoop();
        await doPeer();
      } else {
        await doPeer();
        await doLoop();
      }
      console.error(
        `round ${r + 1}/${ROUNDS}: loop ${loops[r].st.loopMs} ms, packed peer ${peers[r].st.loopMs} ms (load ${loadavg()[0].toFixed(1)})`,
      );
    }
    // every round's loop made the same calls and got the same scores
    const same = loops.every(
      (l) => l.st.calls === calls && JSON.stringify(l.m.recommendation) === JSON.stringify(loops[0].m.recommendation),
    );
    if (!same) throw new Error('the AFL loop made different calls or scores across rounds');
    const idealMs = (calls * DELAY_MS) / CONCURRENCY;
    const loopMs = spread(
      loops.map((l) => l.st.loopMs),
      0,
    );
    const peerMs = spread(
      peers.map((p) => p.st.loopMs),
      0,
    );
    const ratio = spread(
      loops.map((l) => l.st.loopMs / idealMs),
      3,
    );
    const ratioVsPeer = spread(
      loops.map((l, r) => l.st.loopMs / peers[r].st.loopMs),
      3,
    );
    const peerOverIdeal = spread(
      peers.map((p) => p.st.loopMs / idealMs),
      3,
    );
    const runnerCpuMsPerCall = spread(loops.map((l) => l.cpuMs / calls));
    const peerCpuMsPerCall = spread(peers.map((p) => p.cpuMs / calls));
    const m = loops[0].m;
    recordResult('afl', loadBefore, {
      ratio: ratio.median,
      target: 1.15,
      pass: ratio.median <= 1.15,
      protocol: `${ROUNDS} alternating rounds (loop then peer, peer then loop, …) after a 300-call warm-up; loop = the afl kind runner (runAflExperiment, real openai SDK and HTTP, cache off, a fresh run context each round), peer = the same number of calls with the same prompt size issued back to back by ${CONCURRENCY} workers through one LlmClient; both timed at the server from the first request received to the last reply sent (data loading excluded on both sides); figures are min/median/max over rounds, ratios within a round`,
      users: m.users,
      maxRounds: 4,
      calls,
      delayMs: DELAY_MS,
      concurrency: CONCURRENCY,
      idealMs: Math.round(idealMs),
      loopMs,
      peerMs,
      loopOverIdeal: ratio,
      peerOverIdeal,
      loopOverPeer: ratioVsPeer,
      runnerWallMs: spread(
        loops.map((l) => l.wallMs),
        0,
      ),
      runnerCpuMsPerCall,
      peerCpuMsPerCall,
      maxConcurrentAtServer: Math.max(...loops.map((l) => l.st.maxConcurrent)),
      tcpConnections: loops.map((l) => l.st.connections),
      cores: cpus().length,
      failedUsers: m.recommendation.failedUsers,
      sameScoresEveryRound: same,
      summary: `${calls} calls at ${DELAY_MS} ms, concurrency ${CONCURRENCY}, ${ROUNDS} alternating rounds: loop ${fmtSpread(loopMs, ' ms')} vs ideal ${Math.round(idealMs)} ms = ${fmtSpread(ratio)} (target ≤ 1.15); perfectly packed peer ${fmtSpread(peerMs, ' ms')} = ${fmtSpread(peerOverIdeal)} of ideal; loop / peer ${fmtSpread(ratioVsPeer)}; client CPU ${fmtSpread(runnerCpuMsPerCall, ' ms')}/call (runner, incl. data loading) vs peer ${fmtSpread(peerCpuMsPerCall, ' ms')}/call; load ${loadBefore[0]} on ${cpus().length} cores`,
    });
  } finally {
    child.send({ type: 'close' });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
