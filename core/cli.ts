/**
 * `flowloop` — the headless front door onto the same engine the VS Code extension runs in its worker.
 * Exit codes: 0 ok, 1 run failed, 2 bad input (config, arguments, data), 130 cancelled.
 * Errors are printed as `where: message`, never as a stack trace (set FLOWLOOP_DEBUG=1 for stacks).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { LocatedError } from './experiment/context';
import type { RunInfo } from './experiment/events';
import { runExperiment } from './experiment/run';
import { ConfigError, type RunOptions } from './experiment/runner';
import { listRuns, readEvents, readMetrics, readRunInfo, runsRoot, withLiveness, writeJsonAtomic } from './experiment/runStore';
import { formatIssue, validateConfigFile } from './experiment/validate';
import { fmt, formatTable, ProgressPrinter } from './cli/progress';
import { parseArgs, UsageError } from './cli/args';

/** Subcommands owned by their modules (each exports `main(argv): Promise<number>`), loaded on use. */
const MODULE_COMMANDS: Record<string, { help: string; load: () => Promise<{ main(argv: string[]): Promise<number> }> }> = {
  trie: { help: 'export --counts <title_counts.json> --tokenizer qwen2.5 --out <file.json>\n      the title prefix tree with log R_p, in the reference format', load: () => import('./cli/trie') },
  metrics: { help: '--recommendations <file.jsonl> --dataset <amazon dataset dir> [--split test|valid]\n      HR/NDCG@K, DGU, MGU, entropy, TTR, distinct titles of any tool\'s top-10 lists', load: () => import('./cli/metrics') },
  score: { help: '--model <dir> --candidates <candidates.jsonl> [--engine tfjs|onnx] --out <file.jsonl>\n      a sequential model\'s scores for each user\'s candidates', load: () => import('./cli/score') },
  'export-onnx': { help: '<SASRec weights folder | Flower checkpoint> --out model.onnx\n      write our own model as an ONNX graph (checked to load in onnxruntime-node)', load: () => import('./cli/export-onnx') },
  prior: { help: '--model <dir> --candidates <candidates.jsonl> [--catalogue <id2name.txt>] --out <prior.csv>\n      base-model priors (top-1 among candidates) in the reference CSV format', load: () => import('./cli/prior') },
};

const USAGE = `flowloop — LLM-recommender experiments (Flower, AFL) from the command line

  flowloop demo [--out <dir>]                       the embedded demo: Flower vs SFT fitting 100 movie titles (no data needed)
  flowloop run <config> [--set path=value ...] [--out <dir>] [--jobs N]
                                                    run an experiment (or a sweep) into a run folder
  flowloop validate <config>...                     check configs; located errors; exit 2 if any is invalid
  flowloop runs [--dir <workspace>]                 list runs (newest first)
  flowloop show <run folder | run id>               a run's summary and metrics
${Object.entries(MODULE_COMMANDS).map(([n, c]) => `  flowloop ${n} ${c.help}`).join('\n')}
Run folders go to <workspace>/.flowloop/runs (workspace = current folder) unless --out is given.`;

export function registerCommand(name: string, help: string, load: () => Promise<{ main(argv: string[]): Promise<number> }>): void {
  MODULE_COMMANDS[name] = { help, load };
}

async function cmdValidate(argv: string[]): Promise<number> {
  const { positional } = parseArgs(argv, {});
  if (!positional.length) throw new UsageError('validate needs at least one config file');
  let bad = 0;
  for (const f of positional) {
    const r = validateConfigFile(resolve(f));
    if (r.errors.length) {
      bad++;
      for (const e of r.errors) process.stdout.write(formatIssue(f, e) + '\n');
    } else process.stdout.write(`${f}: ok (${r.config!.kind})\n`);
  }
  return bad ? 2 : 0;
}

/** Run a config (or the embedded demo) with progress on stderr, the results table then `run: <dir>` on stdout. */
async function runWithCli(opts: RunOptions & { jobs?: number }): Promise<number> {
  const printer = new ProgressPrinter();
  const controller = new AbortController();
  let runDir: string | undefined;
  let signals = 0;
  const onSignal = (sig: string) => {
    signals++;
    if (signals === 1) {
      printer.line(`${sig}: cancelling (events so far are kept in events.jsonl)…`);
      controller.abort(sig);
      // grace period for a kind stuck in a long synchronous step; then record the cancel ourselves
      setTimeout(() => forceCancel(sig), 10_000).unref();
    } else forceCancel(sig);
  };
  const forceCancel = (sig: string) => {
    if (runDir) {
      const info = readRunInfo(runDir);
      if (info && info.status === 'running') writeJsonAtomic(join(runDir, 'run.json'), { ...info, status: 'cancelled', error: sig, endedAt: new Date().toISOString() } satisfies RunInfo);
    }
    process.exit(130);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  const result = await runExperiment({ ...opts, signal: controller.signal, onEvent: (e) => printer.handle(e), onRunDir: (d) => (runDir ??= d) });
  printer.end();
  for (const line of result.table) process.stdout.write(line + '\n');
  if (result.status === 'failed') process.stderr.write(`error: ${result.where ? result.where + ': ' : ''}${result.error}\n`);
  process.stdout.write(`run: ${result.runDir}\n`);
  return result.status === 'finished' ? 0 : result.status === 'cancelled' ? 130 : 1;
}

async function cmdRun(argv: string[]): Promise<number> {
  const { positional, flags, lists } = parseArgs(argv, { out: 'string', jobs: 'string', dir: 'string' }, ['set']);
  if (positional.length !== 1) throw new UsageError('run needs exactly one config file');
  const jobs = flags.jobs === undefined ? 1 : Number(flags.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs must be a positive integer, got "${flags.jobs}"`);
  return runWithCli({ configPath: positional[0], set: lists.set, outDir: flags.out as string | undefined, workspace: (flags.dir as string) ?? process.cwd(), jobs });
}

async function cmdDemo(argv: string[]): Promise<number> {
  const { flags, lists } = parseArgs(argv, { out: 'string' }, ['set']);
  const { demoConfig } = await import('./flower/demo');
  const { config, configPath } = demoConfig();
  return runWithCli({ configPath, configObject: config, set: lists.set, outDir: flags.out as string | undefined, workspace: process.cwd() });
}

function findRun(ref: string, workspace: string): string {
  const direct = resolve(ref);
  if (existsSync(join(direct, 'run.json')) || existsSync(join(direct, 'sweep.json'))) return direct;
  const matches = listRuns(runsRoot(workspace)).filter((r) => basename(r.dir).includes(ref));
  if (matches.length === 1) return matches[0].dir;
  if (!matches.length) throw new UsageError(`no run matches "${ref}" (looked in ${runsRoot(workspace)})`);
  throw new UsageError(`"${ref}" matches ${matches.length} runs: ${matches.slice(0, 5).map((m) => basename(m.dir)).join(', ')}…`);
}

async function cmdRuns(argv: string[]): Promise<number> {
  const { flags } = parseArgs(argv, { dir: 'string' });
  const root = runsRoot((flags.dir as string) ?? process.cwd());
  const runs = listRuns(root);
  if (!runs.length) {
    process.stdout.write(`no runs in ${root}\n`);
    return 0;
  }
  const rows = runs.map((r) => [basename(r.dir), r.sweep ? `${r.info.kind} sweep` : r.info.kind, r.info.status,
    r.info.keyMetric ? `${r.info.keyMetric.name}=${fmt(r.info.keyMetric.value)}` : '', r.info.durationMs ? `${(r.info.durationMs / 1000).toFixed(1)} s` : '']);
  for (const l of formatTable(['run', 'kind', 'status', 'key metric', 'time'], rows)) process.stdout.write(l + '\n');
  return 0;
}

async function cmdShow(argv: string[]): Promise<number> {
  const { positional, flags } = parseArgs(argv, { dir: 'string' });
  if (positional.length !== 1) throw new UsageError('show needs one run folder or run id');
  const dir = findRun(positional[0], (flags.dir as string) ?? process.cwd());
  if (existsSync(join(dir, 'sweep.json'))) {
    const table = join(dir, 'results.txt');
    process.stdout.write(existsSync(table) ? readFileSync(table, 'utf8') : readFileSync(join(dir, 'sweep.json'), 'utf8'));
    return 0;
  }
  const info = withLiveness(readRunInfo(dir)!);
  const metrics = readMetrics(dir) ?? {};
  const events = readEvents(dir);
  const lines = [
    `run      ${info.id}`, `kind     ${info.kind}`, `status   ${info.status}${info.error ? ` — ${info.where ? info.where + ': ' : ''}${info.error}` : ''}`,
    `config   ${info.configPath}`, `seed     ${info.seed}`, `started  ${info.startedAt}${info.durationMs ? ` (${(info.durationMs / 1000).toFixed(1)} s)` : ''}`,
    `backend  ${info.backend ? `${info.backend.name} (${info.backend.reason})` : '—'}`, `events   ${events.length}`,
  ];
  for (const l of lines) process.stdout.write(l + '\n');
  const flat = Object.entries(metrics).filter(([, v]) => typeof v === 'number' || typeof v === 'string');
  if (flat.length) {
    process.stdout.write('\n');
    for (const l of formatTable(['metric', 'value'], flat.map(([k, v]) => [k, v as number]))) process.stdout.write(l + '\n');
  }
  const nested = Object.entries(metrics).filter(([, v]) => v && typeof v === 'object');
  for (const [k, v] of nested) process.stdout.write(`\n${k}: ${JSON.stringify(v)}\n`);
  return 0;
}

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  run: cmdRun, validate: cmdValidate, runs: cmdRuns, show: cmdShow, demo: cmdDemo,
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE + '\n');
    return cmd ? 0 : 2;
  }
  if (cmd === '--version') {
    process.stdout.write(`${require('../package.json').version}\n`);
    return 0;
  }
  try {
    if (COMMANDS[cmd]) return await COMMANDS[cmd](rest);
    if (MODULE_COMMANDS[cmd]) return await (await MODULE_COMMANDS[cmd].load()).main(rest);
    throw new UsageError(`unknown command "${cmd}" (try flowloop help)`);
  } catch (e: any) {
    if (process.env.FLOWLOOP_DEBUG) process.stderr.write(String(e?.stack) + '\n');
    if (e instanceof ConfigError) {
      process.stdout.write(e.message + '\n');
      return 2;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`flowloop: ${e.message}\n`);
      return 2;
    }
    if (e instanceof LocatedError) {
      process.stderr.write(`${e.where}: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`flowloop: ${e?.message ?? e}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
