import type { ConfigByKind, ConfigKind, FlowloopConfig } from './configTypes';
import type { RunEventInput } from './events';

/**
 * What a kind's runner (flower, afl, sequential, ...) gets from the experiment runner.
 * The runner owns the run folder; a kind only emits events, writes artifacts and returns metrics.
 * `C` is the config's type: the experiment runner (which dispatches on `kind` at run time) holds it as a
 * plain record; a kind's code works on `RunContext<FlowerConfig>` etc. (see kindContext), the types
 * generated from the schema (core/experiment/configTypes.ts).
 */
export interface RunContext<C extends object = FlowloopConfig> {
  /** The resolved, validated config (defaults applied, --set overrides applied). */
  readonly config: C;
  /** Absolute path of the config file it came from (dataset paths resolve against its folder). */
  readonly configPath: string;
  /** Absolute path of this run's folder (exists). */
  readonly runDir: string;
  readonly runId: string;
  /**
   * The workspace the run belongs to (RunOptions.workspace, default the current folder): shared state such
   * as caches lives in its `.flowloop`, also when `--out` puts the run folder elsewhere. Optional for
   * test doubles; kinds fall back to the run folder's `.flowloop`.
   */
  readonly workspace?: string;
  readonly seed: number;
  /** Aborted on SIGINT/SIGTERM/cancel: check it between steps and return (or throw CancelledError). */
  readonly signal: AbortSignal;
  /** Append to events.jsonl (flushed) and then forward to listeners. */
  emit(event: RunEventInput): void;
  /** Shorthand for a 'log' event. */
  log(message: string, level?: 'info' | 'warn' | 'error'): void;
  /** Shorthand for a 'progress' event (rate-limited for the terminal, always written to disk). */
  progress(phase: string, done: number, total: number, message?: string): void;
  /** Shorthand for a 'metric' event. */
  metric(name: string, step: number, value: number, extra?: { series?: string; epoch?: number }): void;
  /** Resolve a path from the config (relative to the config file's folder). */
  resolvePath(p: string): string;
  /** Atomically write a file into the run folder (temp + rename) and emit an 'artifact' event. */
  writeArtifact(
    relPath: string,
    content: string | Uint8Array,
    kind: import('./events').ArtifactEvent['kind'],
    description?: string,
  ): string;
  /** Atomically (re)write metrics.json with the metrics so far (call after each phase). */
  saveMetrics(metrics: Record<string, unknown>): void;
  /** Record the tensor backend chosen (goes to run.json and a log event). */
  setBackend(backend: { name: string; reason: string }): void;
  /** Record the headline metric for the run list / tree. */
  setKeyMetric(name: string, value: number): void;
  /** Lines of the final results table printed to stdout by the CLI. */
  table(lines: string[]): void;
  /**
   * Report that the results cannot be trusted as they stand (e.g. "122/122 LLM calls failed"): a
   * `run-degraded` event at once, run.json `degraded` gets the reason, and the run ends `degraded`
   * instead of `finished`. With `{ failFast: true }` it throws DegradedError: the run ends `failed`
   * with the reason as its error (the results already saved stay on disk).
   */
  degrade(reason: string, opts?: { failFast?: boolean }): void;
  /**
   * Run another experiment to completion into `outDir` (a nested run, e.g. the SASRec that Flower's
   * personalisation trains first). The experiment runner provides it, so a kind never imports the runner;
   * contexts built by tests may leave it out.
   */
  runNested?(opts: {
    configObject: Record<string, unknown>;
    outDir: string;
    onEvent?: (e: import('./events').RunEvent) => void;
  }): Promise<{ runDir: string; status: string; metrics: Record<string, unknown>; error?: string }>;
}

/** Thrown by RunContext.degrade(reason, { failFast: true }): the run fails with `reason`. */
export class DegradedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DegradedError';
  }
}

/** Thrown by a kind when ctx.signal is aborted. */
export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

/** Throw CancelledError if the run was cancelled. Call between steps. */
export function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new CancelledError(String(signal.reason ?? 'cancelled'));
}

/**
 * A located error: a bad config value, a corrupt data row. `where` is "file:line[:col]" and, for
 * configs, `path` is the JSON path. The CLI prints `where: message` without a stack trace.
 */
export class LocatedError extends Error {
  constructor(
    message: string,
    public readonly where: string,
    public readonly path?: string,
  ) {
    super(message);
    this.name = 'LocatedError';
  }
}

/** A kind's runner: returns the final metrics (also saved to metrics.json by the runner). */
export type KindRunner = (ctx: RunContext) => Promise<Record<string, unknown>>;

/**
 * The context of a run of `kind`, its config typed by the schema (configTypes.ts): what a kind's runner
 * calls first. Type-level only — the one place where the loaded config meets the schema's types: the
 * experiment runner validated the config against the schema (defaults filled in by ajv) and picked the
 * runner by its `kind` (kinds.ts), so the config IS a `ConfigByKind[K]`.
 */
export function kindContext<K extends ConfigKind>(ctx: RunContext, kind: K): RunContext<ConfigByKind[K]> {
  void kind; // names the kind at the call site (and infers K); nothing to check at run time
  return ctx as RunContext<ConfigByKind[K]>;
}

let lastYield = Date.now();

/**
 * Let the event loop run (signals, IPC cancel messages, timers) if the caller has held it for more than
 * `everyMs`, then throw CancelledError if the run was cancelled. Kinds call it once per step/batch: an
 * `await` on an already-resolved promise (tfjs `data()` on wasm/cpu) is only a microtask, and a loop of
 * those would starve SIGTERM/SIGINT handlers and the worker's `cancel` message.
 */
export async function yieldIfDue(signal?: AbortSignal, everyMs = 50): Promise<void> {
  const now = Date.now();
  if (now - lastYield >= everyMs) {
    await new Promise<void>((r) => setImmediate(r));
    lastYield = Date.now();
  }
  if (signal) throwIfCancelled(signal);
}
