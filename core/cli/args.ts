import { parseArgs as nodeParseArgs } from 'node:util';

/** A usage mistake on the command line (exit 2, no stack). */
export class UsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/**
 * The argument parser shared by every subcommand: node:util's parseArgs (strict) with Flowloop's conventions —
 * `--flag value`, `--flag=value`, boolean flags (also `--flag=false`), repeatable list flags
 * (`--set a=1 --set b=2`), positionals; an unknown flag or a missing value is a UsageError (exit 2).
 */
export function parseArgs(argv: string[], spec: Record<string, 'string' | 'boolean'>, listFlags: string[] = []) {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const [name, type] of Object.entries(spec)) options[name] = { type };
  for (const name of listFlags) options[name] = { type: 'string', multiple: true };
  // `--flag=false` / `--flag=true` on a boolean flag (node's parseArgs takes no value for booleans)
  const args: string[] = [];
  for (const a of argv) {
    const m = /^--([^=]+)=(.*)$/s.exec(a);
    if (m && spec[m[1]] === 'boolean') {
      if (m[2] !== 'false') args.push(`--${m[1]}`);
    } else args.push(a);
  }
  let parsed: ReturnType<typeof nodeParseArgs>;
  try {
    parsed = nodeParseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = (e as Error).message;
    const code = (e as { code?: string }).code;
    const flag = /'(-{1,2}[^' ]+)/.exec(msg)?.[1] ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option ${flag}`, { cause: e });
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new UsageError(`${flag} needs a value`, { cause: e });
    throw new UsageError(msg, { cause: e });
  }
  const flags: Record<string, string | boolean | undefined> = {};
  const lists: Record<string, string[]> = Object.fromEntries(listFlags.map((f) => [f, [] as string[]]));
  for (const [name, v] of Object.entries(parsed.values)) {
    if (listFlags.includes(name)) lists[name] = v as string[];
    else flags[name] = v as string | boolean;
  }
  for (const m of argv) {
    const b = /^--([^=]+)=false$/.exec(m);
    if (b && spec[b[1]] === 'boolean') flags[b[1]] = false;
  }
  return { positional: parsed.positionals, flags, lists };
}
