/**
 * A RunContext for calling the `afl` kind runner directly in tests: the config goes through the real
 * schema validation (defaults filled by ajv), events/metrics/table are collected in memory, files are
 * written into a temporary run folder.
 */
import { mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DegradedError, type RunContext } from '../core/experiment/context';
import type { RunEvent, RunEventInput } from '../core/experiment/events';
import { formatIssue, validateConfigObject } from '../core/experiment/validate';
import { shared } from './paths';

export interface TestContext extends RunContext {
  events: RunEvent[];
  tableLines: string[];
  metricsSaved: Record<string, unknown>;
  keyMetric?: { name: string; value: number };
}

/** `configPath` anchors relative paths (the config need not exist on disk). */
export function makeContext(
  config: Record<string, any>,
  configPath: string,
  opts: { runDir?: string; signal?: AbortSignal } = {},
): TestContext {
  const v = validateConfigObject(config, configPath, 'the test config');
  if (v.errors.length) throw new Error(v.errors.map((e) => formatIssue(configPath, e)).join('\n'));
  const runDir = opts.runDir ?? join(mkdtempSync(join(tmpdir(), 'afl-ws-')), '.flowloop', 'runs', 'test-run');
  mkdirSync(runDir, { recursive: true });
  const events: RunEvent[] = [];
  const ctx: TestContext = {
    config: v.config!,
    configPath,
    runDir,
    runId: 'test-run',
    seed: v.config!.seed ?? 42,
    signal: opts.signal ?? new AbortController().signal,
    events,
    tableLines: [],
    metricsSaved: {},
    emit(e: RunEventInput) {
      events.push({ ...(e as object), runId: 'test-run', t: Date.now() } as RunEvent);
    },
    log(message, level = 'info') {
      ctx.emit({ type: 'log', level, message });
    },
    progress(phase, done, total, message) {
      ctx.emit({ type: 'progress', phase, done, total, message });
    },
    metric(name, step, value, extra) {
      ctx.emit({ type: 'metric', name, step, value, ...(extra ?? {}) });
    },
    resolvePath(p) {
      return resolve(dirname(configPath), p);
    },
    writeArtifact(rel, content, kind, description) {
      const abs = join(runDir, rel);
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(`${abs}.tmp`, content);
      renameSync(`${abs}.tmp`, abs);
      ctx.emit({ type: 'artifact', path: rel, kind, description });
      return abs;
    },
    saveMetrics(m) {
      ctx.metricsSaved = JSON.parse(JSON.stringify(m));
    },
    setBackend() {},
    setKeyMetric(name, value) {
      ctx.keyMetric = { name, value };
    },
    table(lines) {
      ctx.tableLines.push(...lines);
    },
    degrade(reason, o) {
      ctx.emit({ type: 'run-degraded', reason });
      if (o?.failFast) throw new DegradedError(reason);
    },
  };
  return ctx;
}

/**
 * An `afl` config on the shared LastFM test data: its SASRec prior, the reward scores of its candidates
 * file; `over` adds fields or replaces these.
 */
export function lastfmAfl(name: string, over: Record<string, unknown> = {}): Record<string, any> {
  return {
    kind: 'afl',
    name,
    dataset: shared('lastfm'),
    prior: shared('lastfm', 'prior_sasrec.csv'),
    rewardModel: 'candidates-file',
    ...over,
  };
}
