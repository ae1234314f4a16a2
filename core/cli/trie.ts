/**
 * `flowloop trie export --counts <title_counts.json> --tokenizer qwen2.5 --out <file.json> [--title-end separate|joint]`
 * Writes the prefix tree of all titles in the reference format (docs/methods.md §A3: {prefixKey: {childTokenId: log R_p}}).
 * Exit codes: 0 ok, 2 bad usage or bad input (printed as `where: message`, no stack trace), 1 unexpected failure.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LocatedError } from '../experiment/context';
import { isTokenizerName, loadTokenizer, TOKENIZER_NAMES } from '../tokenize';
import { PrefixTree, readRewardFile, type TitleEnd } from '../trie';
import { UsageError } from './args';
import { commandUsage, parseCommandArgs } from './commands';

const USAGE = commandUsage('trie');

export async function main(argv: string[]): Promise<number> {
  try {
    if (!argv.length || argv[0] === 'help') {
      console.log(USAGE);
      return argv.length ? 0 : 2;
    }
    const { positional, flags } = parseCommandArgs('trie', argv);
    if (flags.help) {
      console.log(USAGE);
      return 0;
    }
    const [sub, ...extra] = positional;
    if (sub !== 'export') throw new UsageError(sub === undefined ? 'which subcommand? (export)' : `unknown subcommand "${sub}"`);
    if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
    const opts = flags as Record<string, string>;
    for (const k of ['counts', 'tokenizer', 'out']) if (!opts[k]) throw new UsageError(`missing --${k}`);
    if (!isTokenizerName(opts.tokenizer))
      throw new UsageError(`--tokenizer must be one of ${TOKENIZER_NAMES.join(', ')} (got "${opts.tokenizer}")`);
    const titleEnd = (opts['title-end'] ?? 'separate') as TitleEnd;
    if (titleEnd !== 'separate' && titleEnd !== 'joint') throw new UsageError(`--title-end must be separate or joint (got "${titleEnd}")`);
    const countsFile = resolve(opts.counts);
    const { titles, rewards } = readRewardFile(countsFile);
    const tok = loadTokenizer(opts.tokenizer, titles);
    const trie = PrefixTree.build(titles, rewards, tok, { titleEnd });
    const ref = trie.exportReference();
    const out = resolve(opts.out);
    const tmp = `${out}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, JSON.stringify(ref, null, 4) + '\n');
      renameSync(tmp, out);
    } catch (e) {
      throw new LocatedError(
        `cannot write output: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (folder ${dirname(out)})`,
        out,
      );
    }
    const merged = trie.merged.length ? `, ${trie.merged.length} titles merged (identical tokens)` : '';
    console.log(
      `wrote ${out}: ${titles.length} titles, ${trie.size} nodes, ${Object.keys(ref).length} prefixes (tokenizer ${tok.name}, title end ${titleEnd}${merged})`,
    );
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`flowloop trie: ${e.message}\n${USAGE}`);
      return 2;
    }
    if (e instanceof LocatedError) {
      console.error(`${e.where}: ${e.message}`);
      return 2;
    }
    console.error(`flowloop trie: ${(e as Error).message ?? String(e)}`);
    return 1;
  }
}
