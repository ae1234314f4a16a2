import { resolve } from 'node:path';
import { environmentIssues } from './environment';
import { ConfigError, loadConfig, runSingle, type RunOptions, type RunResult } from './runner';

/** Entry for every front door (CLI, worker): a config with a `sweep` block runs as a sweep, else as one run. */
export async function runExperiment(opts: RunOptions & { jobs?: number }): Promise<RunResult> {
  const config = loadConfig(opts.configPath, opts.set, opts.configObject);
  // a config that cannot run here (e.g. no API key for the LLM endpoint) starts no run: bad input, exit 2
  const env = environmentIssues(config, resolve(opts.configPath));
  if (env.length) throw new ConfigError(resolve(opts.configPath), env);
  if (config.sweep) {
    const { runSweep } = await import('./sweep');
    return runSweep({ ...opts, config });
  }
  return runSingle(opts);
}
