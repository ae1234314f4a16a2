/**
 * The installed extension against the repository: the demo (the Flower paper's RQ1, examples/rq1) run by the
 * worker of the extension installed from the VSIX (`vsce package` → `code-server --install-extension`,
 * forked as the extension forks it, IPC protocol of core/experiment/worker.ts) vs `node dist/cli.js demo`
 * from the repository (what `npx flowloop demo` runs, without npx's own start-up) with its native kernels,
 * alternating in one run. Wall time of each process, medians and spread; every run's metrics.json compared
 * (same config, same seed); acceptance: installed / repository ≤ 1.5. BENCH_REPS (default 3) rounds.
 * Prints one JSON object on its last line (bench/run.mjs).
 */
import { execFileSync, fork, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAverage, recordResult, spread } from '../results';

const root = join(import.meta.dirname, '..', '..');
const reps = Math.max(1, Number(process.env.BENCH_REPS ?? 3) || 3);
const CODE_SERVER = join(root, '.vscode-test', 'code-server', 'node_modules', '.bin', 'code-server');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const secs = (ms: number) => +(ms / 1000).toFixed(2);
const TIMING_KEY = /^(seconds|.*Seconds|.*Ms|ms|elapsed.*|wall.*)$/;
/** Largest |difference| between the numeric leaves (timings left out) of two metrics objects, and where (Infinity when their
 *  shapes differ). */
function metricsDiff(a: unknown, b: unknown, at = ''): { diff: number; at: string } {
  if (typeof a === 'number' && typeof b === 'number') return { diff: a === b ? 0 : Math.abs(a - b), at };
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a),
      kb = Object.keys(b);
    if (ka.length !== kb.length || ka.some((k) => !(k in b))) return { diff: Infinity, at: `${at} (keys)` };
    let worst = { diff: 0, at };
    // durations (an epoch's `seconds`, …) are the one thing that may differ between two runs
    for (const k of ka.filter((k) => !TIMING_KEY.test(k))) {
      const d = metricsDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k);
      if (d.diff > worst.diff) worst = d;
    }
    return worst;
  }
  return { diff: a === b ? 0 : Infinity, at };
}
/** The worst metricsDiff between the first run of a list and the others. */
const worstDiff = (ms: unknown[]) =>
  ms.slice(1).reduce<{ diff: number; at: string }>(
    (w, m) => {
      const d = metricsDiff(ms[0], m);
      return d.diff > w.diff ? d : w;
    },
    { diff: 0, at: '' },
  );
/** The backend and kernels a run.json backend reason names. */
const kernels = (reason: string) =>
  `${reason.split(' (')[0]}${/native OpenBLAS kernels/.test(reason) ? ' + native OpenBLAS kernels' : ' (no native kernels)'}`;

function install(tmp: string): string {
  const vsix = join(tmp, 'flowloop.vsix');
  execFileSync(process.execPath, [join(root, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '-o', vsix], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 600000,
  });
  const extDir = join(tmp, 'extensions');
  mkdirSync(extDir, { recursive: true });
  if (existsSync(CODE_SERVER)) {
    execFileSync(CODE_SERVER, ['--extensions-dir', extDir, '--user-data-dir', join(tmp, 'ud'), '--install-extension', vsix], {
      stdio: 'ignore',
      timeout: 180000,
      env: { ...process.env, EXTENSIONS_GALLERY: '{}' },
    });
  } else {
    // what --install-extension does with a VSIX: its extension/ folder becomes <publisher>.<name>-<version>
    execFileSync('python3', [
      '-c',
      'import sys,zipfile,os;z=zipfile.ZipFile(sys.argv[1]);[z.extract(n,sys.argv[2]) for n in z.namelist() if n.startswith("extension/")];os.rename(os.path.join(sys.argv[2],"extension"),os.path.join(sys.argv[2],"flowloop.flowloop-x"))',
      vsix,
      extDir,
    ]);
    execFileSync('chmod', ['-R', 'u+rwX', extDir]);
  }
  return join(
    extDir,
    readdirSync(extDir).find((d) => d.startsWith('flowloop.flowloop-'))!,
  );
}

/** The installed worker runs the demo config: wall ms from fork to exit, and the backend it reported. */
function installedDemo(ext: string, ws: string): Promise<{ ms: number; backend: string; metrics: unknown }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = fork(join(ext, 'dist', 'worker.js'), [], {
      cwd: ws,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      execArgv: [],
      serialization: 'json',
    });
    let done: { status?: string; error?: string } = {};
    let err = '';
    child.stderr!.on('data', (d) => {
      err += d;
    });
    child.on('message', (m: any) => {
      if (m.type === 'done') {
        done = m;
        child.disconnect?.();
      }
    });
    child.on('exit', () => {
      const ms = Date.now() - t0;
      if (done.status !== 'finished')
        return reject(new Error(`installed worker: ${done.status ?? 'no result'} ${done.error ?? err.slice(-300)}`));
      const runs = join(ws, '.flowloop', 'runs');
      const last = readdirSync(runs).sort().pop()!;
      resolve({
        ms,
        backend: JSON.parse(readFileSync(join(runs, last, 'run.json'), 'utf8')).backend?.reason ?? '',
        metrics: JSON.parse(readFileSync(join(runs, last, 'metrics.json'), 'utf8')),
      });
    });
    child.send({ type: 'start', protocol: 1, configPath: join(ws, 'demo.flowloop.json'), workspace: ws }); // WORKER_PROTOCOL of core/experiment/events.ts
  });
}

/** The repository's CLI (`node dist/cli.js demo`, what `npx flowloop demo` runs, without npx's own start-up):
 *  wall ms of the process, and its run's backend and metrics. */
function repoDemo(out: string): { ms: number; backend: string; metrics: unknown } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), 'demo', '--out', out], {
    cwd: root,
    encoding: 'utf8',
    timeout: 900000,
  });
  const ms = Date.now() - t0;
  if (r.status !== 0) throw new Error(`node dist/cli.js demo: exit ${r.status}: ${r.stderr.slice(-300)}`);
  const dir = /^run: (.+)$/m.exec(r.stdout)![1];
  return {
    ms,
    backend: JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).backend?.reason ?? '',
    metrics: JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')),
  };
}

async function main(): Promise<void> {
  const loadBefore = loadAverage();
  const tmp = mkdtempSync(join(tmpdir(), 'flowloop-bench-pkg-'));
  try {
    const load0 = loadavg()[0];
    const ext = install(tmp);
    const ws = join(tmp, 'ws');
    mkdirSync(ws);
    copyFileSync(join(root, 'examples', 'rq1', 'demo.flowloop.json'), join(ws, 'demo.flowloop.json'));
    copyFileSync(join(root, 'examples', 'rq1', 'select_100_Movies.json'), join(ws, 'select_100_Movies.json'));
    const installed: number[] = [],
      repo: number[] = [];
    const backends = new Set<string>();
    const metricsInstalled: unknown[] = [],
      metricsRepo: unknown[] = [];
    for (let i = 0; i < reps; i++) {
      // alternate the order so that drifting machine load falls on both sides
      const a = async () => {
        const r = await installedDemo(ext, ws);
        installed.push(r.ms);
        metricsInstalled.push(r.metrics);
        backends.add(`installed: ${kernels(r.backend)}`);
      };
      const b = () => {
        const r = repoDemo(join(tmp, 'repo-runs'));
        repo.push(r.ms);
        metricsRepo.push(r.metrics);
        backends.add(`repository: ${kernels(r.backend)}`);
      };
      if (i % 2) {
        b();
        await a();
      } else {
        await a();
        b();
      }
      console.error(
        `rep ${i + 1}/${reps}: installed ${secs(installed[i])} s, repository ${secs(repo[i])} s (load ${loadavg()[0].toFixed(1)})`,
      );
    }
    const ratio = +(median(installed) / median(repo)).toFixed(3);
    // both sides run the same config with the same seed: every run's metrics.json should agree
    const diffs = {
      installedRuns: worstDiff(metricsInstalled),
      repositoryRuns: worstDiff(metricsRepo),
      installedVsRepository: metricsDiff(metricsInstalled[0], metricsRepo[0]),
    };
    const diff = Math.max(...Object.values(diffs).map((d) => d.diff));
    const roundRatios = spread(
      installed.map((x, i) => x / repo[i]),
      3,
    );
    const result = {
      protocol: `${reps} rounds alternating which side goes first (installed, repository | repository, installed | …); installed = the worker of the extension installed from the VSIX (vsce package + code-server --install-extension, outside the timer) forked as the extension forks it, running examples/rq1/demo.flowloop.json in a workspace; repository = node dist/cli.js demo (what npx flowloop demo runs, without npx's own start-up); wall time of each process from start to exit; ratio = median installed / median repository, roundRatios within a round`,
      ratio,
      roundRatios,
      metricsMaxAbsDiff: diffs,
      sameMetrics: diff <= 1e-6,
      limit: 1.5,
      ok: ratio <= 1.5,
      reps,
      installedS: {
        median: secs(median(installed)),
        min: secs(Math.min(...installed)),
        max: secs(Math.max(...installed)),
        all: installed.map(secs),
      },
      repositoryS: { median: secs(median(repo)), min: secs(Math.min(...repo)), max: secs(Math.max(...repo)), all: repo.map(secs) },
      backends: [...backends],
      load: { before: +load0.toFixed(1), after: +loadavg()[0].toFixed(1) },
      summary: `${new Set([...backends].map((b) => b.split(': ')[1])).size > 1 ? `NOT LIKE FOR LIKE (${[...backends].join('; ')}): ` : ''}installed-extension demo / node dist/cli.js demo = ${ratio} (per round ${roundRatios.min}–${roundRatios.max}; medians ${secs(median(installed))} s (${secs(Math.min(...installed))}–${secs(Math.max(...installed))}) / ${secs(median(repo))} s (${secs(Math.min(...repo))}–${secs(Math.max(...repo))}), ${reps} alternating rounds, load ${load0.toFixed(1)}→${loadavg()[0].toFixed(1)}; limit 1.5); metrics of all ${2 * reps} runs ${
        diff <= 1e-6
          ? 'identical'
          : `differ: ${Object.entries(diffs)
              .map(([k, d]) => `${k} ${d.diff.toPrecision(3)}${d.at ? ` (${d.at})` : ''}`)
              .join(', ')}`
      }`,
    };
    recordResult('package', loadBefore, result);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
