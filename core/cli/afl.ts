/**
 * `flowloop afl preview <config> [--user N] [--set path=value ...]`: a user's first-round AFL prompts,
 * rendered without any HTTP call (core/afl/preview.ts). Exit 0, 2 for bad input.
 */
import { UsageError } from './args';
import { commandUsage, parseCommandArgs } from './commands';

export async function main(argv: string[]): Promise<number> {
  const { flags, positional, lists } = parseCommandArgs('afl', argv);
  if (flags.help) {
    process.stdout.write(commandUsage('afl') + '\n');
    return 0;
  }
  const [sub, config, ...rest] = positional;
  if (sub !== 'preview') throw new UsageError(`afl has one subcommand, preview (got ${sub === undefined ? 'none' : `"${sub}"`})`);
  if (!config || rest.length) throw new UsageError('afl preview needs exactly one config file');
  const index = flags.user === undefined ? 0 : Number(flags.user);
  if (!Number.isInteger(index) || index < 0) throw new UsageError(`--user must be a user index (0, 1, ...), got "${flags.user}"`);
  const { previewPrompts } = await import('../afl/preview');
  const p = await previewPrompts(config, { set: lists.set, index });
  process.stdout.write(p.text + '\n');
  return 0;
}
