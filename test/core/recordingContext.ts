import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DegradedError, type RunContext } from '../../core/experiment/context';
import type { FlowloopConfig } from '../../core/experiment/configTypes';

/**
 * A RunContext for calling a kind's runner directly in tests: records every event (and each saveMetrics
 * call), writes artifacts into `runDir`, and calls `onEvent` per event (e.g. to abort mid-run).
 * The config is passed as given: not schema-validated, no defaults filled in.
 */
export function recordingContext(
  config: Record<string, unknown>,
  runDir: string,
  signal = new AbortController().signal,
  onEvent: (e: any) => void = () => undefined,
) {
  const events: any[] = [];
  const metrics: Record<string, unknown>[] = [];
  const push = (e: any) => {
    events.push(e);
    onEvent(e);
  };
  const ctx: RunContext = {
    // as given (see above): the kinds read it as their own config type
    config: config as unknown as FlowloopConfig,
    configPath: join(runDir, 'x.flowloop.json'),
    runDir,
    runId: 'test',
    seed: 42,
    signal,
    emit: push,
    log: (m) => push({ type: 'log', message: m }),
    progress: () => undefined,
    metric: (name, step, value, extra) => push({ type: 'metric', name, step, value, ...extra }),
    resolvePath: (p) => p,
    writeArtifact: (rel, content) => {
      const f = join(runDir, rel);
      mkdirSync(join(f, '..'), { recursive: true });
      writeFileSync(f, content);
      push({ type: 'artifact', path: rel });
      return f;
    },
    saveMetrics: (m) => metrics.push({ ...m }),
    setBackend: () => undefined,
    setKeyMetric: () => undefined,
    table: (l) => push({ type: 'table', lines: l }),
    degrade: (reason, opts) => {
      push({ type: 'run-degraded', reason });
      if (opts?.failFast) throw new DegradedError(reason);
    },
  };
  return { ctx, events, metrics };
}
