/**
 * How much slower than an idle core this test process runs right now, so tests that must bound a wait
 * (a deadline fired, nothing hung) scale their bounds with the machine's load instead of asserting speed
 * (docs/testing.md "Under load"). CI runs the suite on 2 busy cores where the load average reaches 40.
 */
import { availableParallelism, loadavg } from 'node:os';

/**
 * Wall time over this process's CPU time while it spins for `ms`: about 1 on an idle core, about k when k
 * runnable threads share the core. Measures the share the scheduler gives now (the load average lags).
 */
export function cpuSlowdown(ms = 50): number {
  const w0 = performance.now();
  const c0 = process.cpuUsage();
  while (performance.now() - w0 < ms) {
    /* spin */
  }
  const wall = performance.now() - w0;
  const used = process.cpuUsage(c0);
  return wall / Math.max((used.user + used.system) / 1000, 1);
}

/** max(1, 1-minute load average per core, measured slowdown): the factor to stretch a time bound by. */
export function loadFactor(): number {
  const perCore = loadavg()[0] / Math.max(availableParallelism(), 1);
  return Math.max(1, perCore, cpuSlowdown());
}

/** A time bound of `ms` on an idle machine, stretched by `loadFactor()` (rounded up to whole ms). */
export function scaledMs(ms: number, factor = loadFactor()): number {
  return Math.ceil(ms * factor);
}

/** The measurement behind a bound, for assertion messages: "load 3.2 on 2 cores, slowdown ×1.6". */
export function describeLoad(factor = loadFactor()): string {
  return `load ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores, bound ×${factor.toFixed(1)}`;
}

/**
 * `p`, or a rejection naming `what` and the load once `ms` have passed without it settling: a hang fails
 * the test at a bound (and the test's `finally` closes its server) instead of stalling the suite.
 */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still not done after ${ms} ms (${describeLoad()}): a hang`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}
