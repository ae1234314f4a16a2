/** A usage mistake on the command line (exit 2, no stack). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Minimal argument parser shared by every subcommand: `--flag value`, `--flag=value`, boolean flags,
 * repeatable list flags (`--set a=1 --set b=2`), positionals. Unknown flags are usage errors.
 */
export function parseArgs(argv: string[], spec: Record<string, 'string' | 'boolean'>, listFlags: string[] = []) {
  const positional: string[] = [];
  const flags: Record<string, string | boolean | undefined> = {};
  const lists: Record<string, string[]> = Object.fromEntries(listFlags.map((f) => [f, [] as string[]]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--') || a === '--') { positional.push(a); continue; }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq > 0 ? eq : undefined);
    const inline = eq > 0 ? a.slice(eq + 1) : undefined;
    const kind = listFlags.includes(name) ? 'list' : spec[name];
    if (!kind) throw new UsageError(`unknown option --${name}`);
    if (kind === 'boolean') { flags[name] = inline === undefined ? true : inline !== 'false'; continue; }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (kind === 'list') lists[name].push(value);
    else flags[name] = value;
  }
  return { positional, flags, lists };
}
