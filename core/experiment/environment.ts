/**
 * Checks of a valid config against the environment it would run in (not the file: a config can be right
 * and still unable to run here), per kind. `flowloop validate` prints them; `flowloop run` refuses to
 * start (exit 2, no run folder) when one fails. AFL: an agent at the OpenAI endpoint without an API key.
 */
import { missingKey } from '../afl/llmKey';
import { locateInFile, type ConfigIssue } from './validate';

/** The fields the checks read; any config object (validated or not) has this shape. */
type CheckedConfig = { kind?: unknown; agents?: unknown; llm?: unknown };
type EnvironmentCheck = (config: CheckedConfig, env: NodeJS.ProcessEnv) => { path: string; message: string }[];

const ENVIRONMENT_CHECKS: Record<string, EnvironmentCheck> = {
  afl: (config, env) => {
    const why = missingKey(config, env);
    return why ? [{ path: '/llm', message: why }] : [];
  },
};

/** The environment's problems with a validated config, located in its file (the `llm` block, or the top). */
export function environmentIssues(config: CheckedConfig, filePath: string, env: NodeJS.ProcessEnv = process.env): ConfigIssue[] {
  const check = ENVIRONMENT_CHECKS[config.kind as string];
  return (check ? check(config, env) : []).map((i) => ({ ...i, ...locateInFile(filePath, i.path) }));
}
