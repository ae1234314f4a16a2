import { LocatedError } from './context';
import type { ConfigObject } from './events';

/** Parse a `--set` value: JSON when it parses (numbers, booleans, arrays, quoted strings), else the raw string. */
export function parseSetValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Split a dotted config path ("flower.theta", "sweep.parameters.0.values") into keys. */
export function splitPath(path: string): string[] {
  return path.split('.').filter((s) => s.length > 0);
}

/** Set `value` at dotted `path` in a deep copy of `config` (creating objects on the way). */
export function setPath<T extends object>(config: T, path: string, value: unknown): T {
  const keys = splitPath(path);
  if (!keys.length) throw new Error(`empty config path`);
  const copy = structuredClone(config);
  let cur = copy as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) {
    if (cur[k] === undefined) cur[k] = {};
    else if (typeof cur[k] !== 'object' || cur[k] === null) throw new Error(`"${path}": "${k}" is not an object`);
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]] = value;
  return copy;
}

/** The value at dotted `path` (array indices as keys), undefined when a step is missing. */
export function getPath(config: object, path: string): unknown {
  let cur: unknown = config;
  for (const k of splitPath(path)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** Apply `--set path=value` arguments in order. */
export function applySets(config: object, sets: string[]): ConfigObject {
  let out = config as ConfigObject;
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new LocatedError(`expected path=value, got "${s}"`, `--set ${s}`);
    try {
      out = setPath(out, s.slice(0, eq).trim(), parseSetValue(s.slice(eq + 1)));
    } catch (e) {
      throw new LocatedError((e as Error).message, `--set ${s}`);
    }
  }
  return out;
}
