import { loadConfig, runSingle, type RunOptions, type RunResult } from './runner';

/** Entry for every front door (CLI, worker): a config with a `sweep` block runs as a sweep, else as one run. */
export async function runExperiment(opts: RunOptions & { jobs?: number }): Promise<RunResult> {
  const config = loadConfig(opts.configPath, opts.set, opts.configObject);
  if (config.sweep) {
    const { runSweep } = await import('./sweep');
    return runSweep({ ...opts, config });
  }
  return runSingle(opts);
}
