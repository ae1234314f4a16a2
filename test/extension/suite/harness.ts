import { writeFileSync } from 'node:fs';

/**
 * A minimal sequential test harness for the extension host (mocha is not a dependency): `test(name, fn)`
 * registers, `runAll()` runs in order with a per-test timeout and writes the results file that
 * test/extension/run.mjs reads (the host's console does not reach the launcher).
 */
type TestFn = () => Promise<void> | void;
const tests: { name: string; fn: TestFn; timeoutMs: number; skip?: string }[] = [];

/** `skip`: a reason not to run it here (counted and named as skipped by test/extension/run.mjs). */
export function test(name: string, fn: TestFn, timeoutMs = 60_000, skip?: string): void {
  tests.push({ name, fn, timeoutMs, skip });
}

export interface TestResult {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
  skipped?: string;
}

export async function runAll(resultsFile: string | undefined): Promise<{ passed: number; failed: number; tests: TestResult[] }> {
  const results: TestResult[] = [];
  for (const t of tests) {
    const only = process.env.FLOWLOOP_TEST_ONLY; // development: run only the tests whose name contains it
    const skip = t.skip ?? (only && !t.name.includes(only) ? `FLOWLOOP_TEST_ONLY=${only}` : undefined);
    if (skip) {
      results.push({ name: t.name, ok: true, ms: 0, skipped: skip });
      if (resultsFile) writeFileSync(resultsFile, JSON.stringify(summary(results), null, 2));
      continue;
    }
    const t0 = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(t.fn),
        new Promise((_, rej) => {
          timer = setTimeout(() => rej(new Error(`timed out after ${t.timeoutMs} ms`)), t.timeoutMs);
        }),
      ]);
      results.push({ name: t.name, ok: true, ms: Date.now() - t0 });
    } catch (e) {
      const err = e as Error;
      results.push({
        name: t.name,
        ok: false,
        ms: Date.now() - t0,
        error: `${err?.message ?? err}${err?.stack ? `\n${err.stack.split('\n').slice(1, 4).join('\n')}` : ''}`,
      });
    } finally {
      if (timer) clearTimeout(timer);
    }
    if (resultsFile) writeFileSync(resultsFile, JSON.stringify(summary(results), null, 2)); // partial results survive a hang
  }
  return summary(results);
}

function summary(results: TestResult[]) {
  const passed = results.filter((r) => r.ok && !r.skipped).length;
  return { passed, failed: results.filter((r) => !r.ok).length, tests: results };
}

/** Poll until `fn` returns a truthy value (or throw with `what` after timeoutMs). */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 20_000, everyMs = 100): Promise<NonNullable<T>> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
