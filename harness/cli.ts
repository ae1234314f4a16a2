import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, TSX_IMPORT } from './paths';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `flowloop <args>` from the sources in a child process (cwd: the repository), collecting its output.
 * `onStderr(all, kill)` sees the whole stderr so far after each chunk; `kill()` ends the process with SIGKILL.
 */
export function runCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; onStderr?: (all: string, kill: () => void) => void } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...TSX_IMPORT, join(ROOT, 'core', 'cli.ts'), ...args], {
      cwd: ROOT,
      ...(opts.env ? { env: opts.env } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      opts.onStderr?.(stderr, () => child.kill('SIGKILL'));
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
