import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Process-tree helpers for the run manager (docs/design.md "a process manager that owns child processes
 * ... and kills process trees on dispose"). Workers are forked as process-group leaders on POSIX, so a
 * signal to the group reaches every helper they start; descendants that left the group are found by
 * walking parent ids (Linux: /proc, macOS: ps). Windows uses `taskkill /T`.
 *
 * Why not the `tree-kill` package: it finds children with one `ps`/`pgrep` call per level (Linux: `ps -o pid
 * --no-headers --ppid`), needs procps in the container, and kills only what is still attached to the tree; here
 * the process group does most of the work and /proc is read once, with no external program on Linux.
 */

/** Parent pid of every live process (pid → ppid). */
function parentTable(): Map<number, number> {
  const table = new Map<number, number>();
  if (process.platform === 'linux') {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        // "pid (comm) state ppid ...": comm may contain spaces and parentheses, so split after the last ')'
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        table.set(Number(name), Number(rest[1]));
      } catch {
        /* process ended while we looked */
      }
    }
    return table;
  }
  try {
    const out = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' });
    for (const line of out.split('\n')) {
      const [pid, ppid] = line.trim().split(/\s+/).map(Number);
      if (pid) table.set(pid, ppid);
    }
  } catch {
    /* no ps: only the group signal is used */
  }
  return table;
}

/** All live descendants of `pid` (children first seen, breadth-first), excluding `pid` itself. */
export function descendants(pid: number): number[] {
  const table = parentTable();
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    for (const [child, parent] of table) {
      if (parent === p && !out.includes(child)) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  return out;
}

/** True while a process with this pid exists (and is not a zombie on Linux). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (process.platform === 'linux') {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  }
  return true;
}

/** Send `signal` to a worker, its process group and every descendant. Returns the pids signalled. */
export function killTree(pid: number, signal: NodeJS.Signals = 'SIGTERM'): number[] {
  if (process.platform === 'win32') {
    try {
      execFileSync('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
    return [pid];
  }
  const pids = [pid, ...descendants(pid)];
  try {
    process.kill(-pid, signal); // the worker leads its own process group (forked with detached: true)
  } catch {
    /* not a group leader or already gone */
  }
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch {
      /* already gone */
    }
  }
  return pids;
}
