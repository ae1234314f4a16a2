import { EXECUTORS, profilesPath, readProfiles, type ExecutorName } from '../executor/profile';
import { UsageError } from './args';

/** `--executor` (default: the named `--profile`'s executor, else local). */
export function executorFlag(executor: unknown, profile: unknown, workspace: string): ExecutorName {
  if (executor === undefined) {
    if (typeof profile !== 'string') return 'local';
    const p = readProfiles(workspace)?.profiles[profile];
    if (!p) throw new UsageError(`--profile ${profile}: no such profile in ${profilesPath(workspace)}`);
    return p.executor;
  }
  if (!EXECUTORS.includes(executor as ExecutorName))
    throw new UsageError(`--executor must be one of ${EXECUTORS.join(', ')}, got "${executor}"`);
  return executor as ExecutorName;
}
