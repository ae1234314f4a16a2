/**
 * A run in a child worker process, spoken to with the extension's protocol (WorkerRequest / WorkerMessage
 * over IPC): parallel sweep points (`--jobs`) and `flowloop baselines --jobs`. tfjs/wasm is single-threaded,
 * so processes are what gives parallelism. The run folder is the truth when the last message never arrives.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RunEvent, RunStatus, WorkerMessage, WorkerRequest } from './events';
import { readRunInfo } from './runStore';

function workerEntry(): { file: string; execArgv: string[] } {
  // bundled: dist/worker.js beside dist/cli.js; from sources (tests, tsx): the TypeScript entry
  if (extname(__filename) === '.js' && existsSync(join(__dirname, 'worker.js'))) return { file: join(__dirname, 'worker.js'), execArgv: [] };
  // tsx by absolute URL: the worker must load from any working directory
  const loader = join(__dirname, '..', '..', 'node_modules', 'tsx', 'dist', 'loader.mjs');
  return { file: join(__dirname, 'worker.ts'), execArgv: ['--import', existsSync(loader) ? pathToFileURL(loader).href : 'tsx'] };
}

/** Run one config in a worker process (the extension's protocol), for runs in parallel. */
export function runInWorker(req: Extract<WorkerRequest, { type: 'start' }>, signal: AbortSignal, onEvent: (e: RunEvent) => void): Promise<{ status: RunStatus; runDir?: string; error?: string }> {
  const { file, execArgv } = workerEntry();
  return new Promise((resolveP) => {
    const child = fork(file, [], { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let done: { status: RunStatus; runDir?: string; error?: string } | undefined;
    let runDir: string | undefined;
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const onAbort = () => child.connected && child.send({ type: 'cancel' } satisfies WorkerRequest);
    signal.addEventListener('abort', onAbort);
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'event') {
        if (m.event.type === 'run-started') runDir = m.event.runDir;
        onEvent(m.event);
      }
      if (m.type === 'done') done = { status: m.status, runDir: m.runDir ?? runDir, error: m.error };
    });
    child.on('exit', (code) => {
      signal.removeEventListener('abort', onAbort);
      const onDisk = runDir ? readRunInfo(runDir) : undefined;
      resolveP(done ?? (onDisk && onDisk.status !== 'running' ? { status: onDisk.status, runDir, error: onDisk.error }
        : { status: signal.aborted ? 'cancelled' : 'failed', runDir, error: `worker exited with code ${code}: ${stderr.trim().split('\n').pop() ?? ''}` }));
    });
    child.send(req);
  });
}
