/**
 * The worker: a child process the extension forks (IPC) to run one experiment or sweep, so that
 * training and native modules never touch the extension host. Protocol: WorkerRequest in,
 * WorkerMessage out (core/experiment/events.ts). Every event is in events.jsonl before it is sent.
 */
import { isWorkerRequest, WORKER_PROTOCOL, type WorkerMessage } from './events';
import { runExperiment } from './run';
import { ConfigError } from './runner';
import { errorMessage } from '../util/errors';

const controller = new AbortController();
let started = false;
let finished = false;

function send(m: WorkerMessage): void {
  if (process.connected) process.send?.(m);
}

function cancel(reason: string): void {
  if (!controller.signal.aborted) controller.abort(reason);
  // A kind stuck in a long synchronous step gets a grace period, then the process ends; the runner
  // has already written every event, and the host marks the run cancelled from run.json/its own state.
  setTimeout(() => process.exit(130), 10_000).unref();
}

process.on('message', async (msg: unknown) => {
  if (!isWorkerRequest(msg)) {
    process.stderr.write(`flowloop worker: ignored a malformed message: ${JSON.stringify(msg).slice(0, 200)}\n`);
    return;
  }
  if (msg.type === 'cancel') return cancel('cancelled by the user');
  if (started) return;
  started = true;
  if (msg.protocol !== WORKER_PROTOCOL) {
    finished = true;
    send({
      type: 'done',
      status: 'failed',
      error: `the host speaks worker protocol ${msg.protocol}, this worker ${WORKER_PROTOCOL}: reinstall or rebuild so both come from the same Flowloop`,
    });
    process.exitCode = 2;
    setTimeout(() => process.exit(), 20);
    return;
  }
  let done: Extract<WorkerMessage, { type: 'done' }>;
  try {
    const result = await runExperiment({
      configPath: msg.configPath,
      set: msg.set,
      outDir: msg.outDir,
      workspace: msg.workspace,
      configObject: msg.configObject,
      runInfoExtra: msg.runInfoExtra,
      jobs: msg.jobs,
      signal: controller.signal,
      onEvent: (event) => send({ type: 'event', event }),
    });
    done = { type: 'done', status: result.status, runDir: result.runDir, error: result.error, degraded: result.degraded };
    process.exitCode = result.status === 'finished' ? 0 : result.status === 'degraded' ? 3 : result.status === 'cancelled' ? 130 : 1;
  } catch (e) {
    done = { type: 'done', status: 'failed', error: errorMessage(e) };
    process.exitCode = e instanceof ConfigError ? 2 : 1;
  }
  finished = true;
  // exit only once the last message has been handed to the channel: a bare disconnect can drop it
  const bye = () => setTimeout(() => process.exit(), 20);
  if (process.connected)
    process.send!(done, () => {
      process.disconnect();
      bye();
    });
  else bye();
});

process.on('SIGTERM', () => cancel('SIGTERM'));
process.on('SIGINT', () => cancel('SIGINT'));
// The host went away (window closed, host crashed): stop cleanly.
process.on('disconnect', () => {
  if (!controller.signal.aborted && started && !finished) cancel('the editor closed');
});
