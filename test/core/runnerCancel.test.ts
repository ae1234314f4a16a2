import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, TSX_IMPORT } from '../../harness/paths';
import { WORKER_PROTOCOL, type RunEvent, type WorkerMessage } from '../../core/experiment/events';
import { readEvents, readRunInfo } from '../../core/experiment/runStore';
import { MetricCurves } from '../../core/experiment/curves';

// The job killed here is the real embedded demo (Flower on the RQ1 titles): long enough to be interrupted.
const CLI = [join(ROOT, 'core', 'cli.ts')];

function onlyRunDir(out: string): string {
  const dirs = readdirSync(out)
    .map((d) => join(out, d))
    .filter((d) => existsSync(join(d, 'run.json')));
  assert.equal(dirs.length, 1, `expected one run folder in ${out}, found ${dirs.length}`);
  return dirs[0];
}

test('SIGTERM to `flowloop run` gives status cancelled, exit 130, and every event it printed is in events.jsonl', async () => {
  const out = mkdtempSync(join(tmpdir(), 'flowloop-sigterm-'));
  const child = spawn(process.execPath, [...TSX_IMPORT, ...CLI, 'demo', '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const printed = new Promise<void>((resolve) =>
    child.stderr.on('data', (d) => {
      stderr += d;
      if ((stderr.match(/^\w+ train .*: \d+\/\d+/gm) ?? []).length >= 2) resolve();
    }),
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await Promise.race([printed, exited]);
  child.kill('SIGTERM');
  const code = await exited;
  assert.equal(code, 130, `exit code ${code}; stderr:\n${stderr.slice(-2000)}`);
  const dir = onlyRunDir(out);
  const info = readRunInfo(dir)!;
  assert.equal(info.status, 'cancelled', JSON.stringify(info));
  const events = readEvents(dir);
  assert.equal(events[events.length - 1].type, 'run-cancelled');
  // every progress line printed (plain mode: "phase: done/total ...") has its event on disk
  const progressLines = [...stderr.matchAll(/^(.+?): (\d+)\/(\d+)/gm)].filter((m) => !m[1].startsWith('flowloop'));
  assert.ok(progressLines.length >= 2, `no progress printed:\n${stderr}`);
  for (const m of progressLines) {
    const hit = events.some((e) => e.type === 'progress' && e.phase === m[1] && e.done === Number(m[2]) && e.total === Number(m[3]));
    assert.ok(hit, `printed "${m[0]}" but no such progress event in events.jsonl`);
  }
  // the curves reported before the kill are plotted in the run folder (curves.ts), each announced as an artifact
  const counts = new Map<string, number>();
  for (const e of events) if (e.type === 'metric') counts.set(e.name, (counts.get(e.name) ?? 0) + 1);
  const curves = [...counts].filter(([, n]) => n >= 2);
  assert.ok(curves.length >= 1, `no metric with two points before the kill: ${JSON.stringify([...counts])}`);
  for (const [name, n] of curves) {
    const rel = `plots/${MetricCurves.fileName(name)}`;
    assert.ok(existsSync(join(dir, rel)), `${rel} missing for ${name} (${n} points)`);
    assert.ok(
      events.some((e) => e.type === 'artifact' && e.path === rel && e.kind === 'plot'),
      `no artifact event for ${rel}`,
    );
  }
  assert.match(stdout.trim().split('\n').pop()!, new RegExp(`^run: ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
});

test('cancel over IPC: the worker stops, status cancelled, every event it sent is already in events.jsonl', async () => {
  const out = mkdtempSync(join(tmpdir(), 'flowloop-ipc-'));
  const { demoConfig } = await import('../../core/flower/demo');
  const { config, configPath } = demoConfig();
  const child = fork(join(ROOT, 'core', 'experiment', 'worker.ts'), [], {
    execArgv: TSX_IMPORT,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const received: RunEvent[] = [];
  let done: Extract<WorkerMessage, { type: 'done' }> | undefined;
  const enough = new Promise<void>((resolve) =>
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'event') received.push(m.event);
      if (m.type === 'done') done = m;
      if (received.filter((e) => e.type === 'metric').length >= 3) resolve();
    }),
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.send({ type: 'start', protocol: WORKER_PROTOCOL, configPath, configObject: config, outDir: out, workspace: out });
  await Promise.race([enough, exited]);
  child.send({ type: 'cancel' });
  const code = await exited;
  assert.equal(done?.status, 'cancelled', `done message: ${JSON.stringify(done)}`);
  assert.equal(code, 130);
  const dir = onlyRunDir(out);
  assert.equal(readRunInfo(dir)!.status, 'cancelled');
  const onDisk = readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n');
  const disk = new Set(onDisk);
  for (const e of received) assert.ok(disk.has(JSON.stringify(e)), `event sent but not on disk: ${JSON.stringify(e).slice(0, 200)}`);
  assert.ok(received.length >= 4);
});
