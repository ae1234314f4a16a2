import { LocatedError } from './context';

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
export function setPath<T extends Record<string, any>>(config: T, path: string, value: unknown): T {
  const keys = splitPath(path);
  if (!keys.length) throw new Error(`empty config path`);
  const copy = structuredClone(config);
  let cur: any = copy;
  for (const k of keys.slice(0, -1)) {
    if (cur[k] === undefined) cur[k] = {};
    else if (typeof cur[k] !== 'object' || cur[k] === null) throw new Error(`"${path}": "${k}" is not an object`);
    cur = cur[k];
  }
  cur[keys[keys.length - 1]] = value;
  return copy;
}

export function getPath(config: Record<string, any>, path: string): unknown {
  let cur: any = config;
  for (const k of splitPath(path)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = cur[k];
  }
  return cur;
}

/** Apply `--set path=value` arguments in order. */
export function applySets(config: Record<string, any>, sets: string[]): Record<string, any> {
  let out = config;
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new LocatedError(`expected path=value, got "${s}"`, `--set ${s}`);
    try {
      out = setPath(out, s.slice(0, eq).trim(), parseSetValue(s.slice(eq + 1)));
    } catch (e: any) {
      throw new LocatedError(e.message, `--set ${s}`);
    }
  }
  return out;
}
