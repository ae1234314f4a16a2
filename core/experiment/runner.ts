import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CancelledError, DegradedError, LocatedError, type RunContext } from './context';
import type { ArtifactEvent, ConfigObject, RunEvent, RunEventInput, RunInfo, RunStatus } from './events';
import type { FlowloopConfig } from './configTypes';
import { KIND_RUNNERS } from './kinds';
import { applySets } from './overrides';
import { createRunFolder, EventLog, runsRoot, writeFileAtomic, writeJsonAtomic } from './runStore';
import { formatIssue, validateConfigFile, validateConfigObject, type ConfigIssue } from './validate';
import { MetricCurves } from './curves';
import { errorMessage } from '../util/errors';
import { runProgress } from './runProgress';
import { packageVersions } from '../util/buildInfo';

/** A config that failed validation: every issue is located (file:line:col + JSON path). */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: ConfigIssue[],
  ) {
    super(issues.map((i) => formatIssue(file, i)).join('\n'));
    this.name = 'ConfigError';
  }
}

export interface RunOptions {
  configPath: string;
  /** `--set path=value` overrides, applied after reading the file. */
  set?: string[];
  /** Folder that receives the run folder (default `<workspace>/.flowloop/runs`). */
  outDir?: string;
  /** Workspace folder (default: cwd). */
  workspace?: string;
  /** Abort to cancel: the run ends with status `cancelled`, every event already emitted kept. */
  signal?: AbortSignal;
  /** Called for each event AFTER it is in events.jsonl. */
  onEvent?: (e: RunEvent) => void;
  /** Called with the run folder as soon as it exists. */
  onRunDir?: (dir: string) => void;
  /** A config object to use instead of reading configPath (sweep points, the embedded demo). */
  configObject?: ConfigObject;
  /** Extra fields for run.json (sweep point info). */
  runInfoExtra?: Partial<RunInfo>;
  /** Run into this folder (created beforehand, e.g. by the Slurm executor at submission) instead of a fresh one. */
  runDir?: string;
}

export interface RunResult {
  runDir: string;
  status: RunStatus;
  metrics: Record<string, unknown>;
  table: string[];
  error?: string;
  where?: string;
  /** The reasons the runner gave for `degraded` (also for a run that then failed fast). */
  degraded?: string[];
}

/** Read, override and validate a config; throws ConfigError with located issues. */
export function loadConfig(configPath: string, set: string[] = [], configObject?: ConfigObject): FlowloopConfig {
  const file = resolve(configPath);
  let config: FlowloopConfig;
  if (configObject) {
    const r = validateConfigObject(configObject, file, 'the embedded config');
    if (r.errors.length) throw new ConfigError(file, r.errors);
    config = r.config!;
  } else {
    const r = validateConfigFile(file);
    if (r.errors.length) throw new ConfigError(file, r.errors);
    config = r.config!;
  }
  if (set.length) {
    const r = validateConfigObject(applySets(config, set), file, `--set ${set.join(' --set ')}`);
    if (r.errors.length) throw new ConfigError(file, r.errors);
    config = r.config!;
  }
  return config;
}

/** Versions recorded in run.json (core/util/buildInfo.ts: the bundle's build-time versions, or the installed packages'). */
export { packageVersions };

function gitCommit(dir: string): string | undefined {
  try {
    return (
      execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 })
        .toString()
        .trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/** Run one experiment (not a sweep) into a fresh run folder. Never throws for run failures: see RunResult.status. */
export async function runSingle(opts: RunOptions): Promise<RunResult> {
  const configPath = resolve(opts.configPath);
  const config = loadConfig(configPath, opts.set, opts.configObject);
  const name: string = config.name ?? basename(configPath).replace(/\.flowloop\.json$|\.json$/, '');
  const root = opts.outDir ? resolve(opts.outDir) : runsRoot(opts.workspace ?? process.cwd());
  const runDir = opts.runDir ? resolve(opts.runDir) : createRunFolder(root, name);
  if (opts.runDir) mkdirSync(runDir, { recursive: true });
  const runId = basename(runDir);
  opts.onRunDir?.(runDir);
  const log = new EventLog(runDir);
  const started = Date.now();
  const seed: number = config.seed ?? 42;
  const info: RunInfo = {
    id: runId,
    name,
    kind: config.kind,
    status: 'running',
    configPath,
    seed,
    startedAt: new Date(started).toISOString(),
    versions: packageVersions(),
    gitCommit: gitCommit(dirname(configPath)),
    pid: process.pid,
    ...opts.runInfoExtra,
  };
  writeJsonAtomic(join(runDir, 'config.json'), config);
  writeJsonAtomic(join(runDir, 'run.json'), info);
  const table: string[] = [];
  let metrics: Record<string, unknown> = {};

  const curves = new MetricCurves();
  const emit = (e: RunEventInput) => {
    const event = { ...e, runId, t: Date.now() } as RunEvent;
    if (event.type === 'metric') curves.add(event);
    log.append(event); // on disk first ...
    opts.onEvent?.(event); // ... then anywhere else
  };
  const signal = opts.signal ?? new AbortController().signal;
  const ctx: RunContext = {
    config,
    configPath,
    runDir,
    runId,
    seed,
    signal,
    workspace: resolve(opts.workspace ?? process.cwd()),
    emit,
    log: (message, level = 'info') => emit({ type: 'log', level, message }),
    progress: (phase, done, total, message) =>
      emit({ type: 'progress', phase, done, total, message, run: runProgress(phase, done, total, config) }),
    metric: (n, step, value, extra) => emit({ type: 'metric', name: n, step, value, ...extra }),
    resolvePath: (p) => resolve(dirname(configPath), p),
    writeArtifact: (rel, content, kind: ArtifactEvent['kind'], description) => {
      const abs = join(runDir, rel);
      writeFileAtomic(abs, content);
      emit({ type: 'artifact', path: rel, kind, description });
      return abs;
    },
    saveMetrics: (m) => {
      metrics = { ...metrics, ...m };
      writeJsonAtomic(join(runDir, 'metrics.json'), metrics);
    },
    setBackend: (backend) => {
      info.backend = backend;
      writeJsonAtomic(join(runDir, 'run.json'), info);
      emit({ type: 'log', level: 'info', message: `tensor backend: ${backend.name} (${backend.reason})` });
    },
    setKeyMetric: (n, value) => {
      info.keyMetric = { name: n, value };
      writeJsonAtomic(join(runDir, 'run.json'), info);
    },
    table: (lines) => table.push(...lines),
    runNested: (o) =>
      runSingle({ configPath, configObject: o.configObject, outDir: o.outDir, workspace: o.outDir, signal, onEvent: o.onEvent }),
    degrade: (reason, opts) => {
      info.degraded = [...(info.degraded ?? []), reason];
      writeJsonAtomic(join(runDir, 'run.json'), info);
      emit({ type: 'run-degraded', reason });
      if (opts?.failFast) throw new DegradedError(reason);
    },
  };

  /** plots/<metric>.svg for every curve reported so far (curves.ts); a plot that cannot be written is logged, never fatal. */
  const writeCurves = () => {
    try {
      for (const [rel, svg] of curves.plots()) ctx.writeArtifact(rel, svg, 'plot', `curve of ${rel.slice(6, -4)}`);
    } catch (e) {
      emit({ type: 'log', level: 'warn', message: `metric plots not written: ${errorMessage(e)}` });
    }
  };
  const finish = (status: RunStatus, extra: Partial<RunInfo> = {}) => {
    Object.assign(info, extra, { status, endedAt: new Date().toISOString(), durationMs: Date.now() - started });
    writeJsonAtomic(join(runDir, 'run.json'), info);
  };

  emit({ type: 'run-started', kind: config.kind, name, runDir, configPath, seed });
  try {
    const load = KIND_RUNNERS[config.kind];
    if (!load) throw new LocatedError(`no runner for kind "${config.kind}"`, configPath, '/kind');
    const runner = await load();
    const result = await runner(ctx);
    if (signal.aborted) throw new CancelledError(String(signal.reason ?? 'cancelled'));
    ctx.saveMetrics(result);
    writeCurves();
    const degraded = info.degraded;
    emit({ type: 'run-finished', metrics, durationMs: Date.now() - started, ...(degraded ? { degraded } : {}) });
    const status: RunStatus = degraded ? 'degraded' : 'finished';
    finish(status);
    return { runDir, status, metrics, table, degraded };
  } catch (e) {
    if (e instanceof CancelledError || signal.aborted) {
      const reason = String(signal.reason ?? errorMessage(e) ?? 'cancelled');
      writeCurves();
      emit({ type: 'run-cancelled', reason });
      finish('cancelled', { error: reason });
      return { runDir, status: 'cancelled', metrics, table, error: reason };
    }
    const where = e instanceof LocatedError ? e.where : undefined;
    const message = errorMessage(e);
    writeCurves();
    emit({ type: 'run-failed', error: message, where });
    if (!(e instanceof LocatedError) && !(e instanceof DegradedError))
      emit({ type: 'log', level: 'error', message: String((e instanceof Error && e.stack) || message) });
    finish('failed', { error: message, where });
    return { runDir, status: 'failed', metrics, table, error: message, where, degraded: info.degraded };
  }
}
