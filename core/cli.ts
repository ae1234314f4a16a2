/**
 * `flowloop` — the headless front door onto the same engine the VS Code extension runs in its worker.
 * Exit codes: 0 ok, 1 run failed, 2 bad input (config, arguments, data), 3 degraded (the run finished and
 * wrote its results, but its runner reported they cannot be trusted, e.g. every LLM call failed: a CI job
 * must notice; `|| [ $? -eq 3 ]` accepts it), 130 cancelled. See exitCode().
 * Errors are printed as `where: message`, never as a stack trace (set FLOWLOOP_DEBUG=1 for stacks).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { LocatedError } from './experiment/context';
import type { RunInfo } from './experiment/events';
import { ConfigError } from './experiment/runner';
import { execute, type ExecuteOptions } from './executor';
import { executorFlag } from './cli/executorFlag';
import { SlurmError } from './executor/slurm';
import { listRuns, readEvents, readMetrics, runsRoot, withLiveness } from './experiment/runStore';
import { formatIssue, validateConfigFile } from './experiment/validate';
import { environmentIssues } from './experiment/environment';
import { fmt, formatTable } from './util/table';
import { UsageError } from './cli/args';
import { COMMAND_SPECS, commandUsage, overallUsage, parseCommandArgs } from './cli/commands';
import { CliSession } from './cli/session';
import { errorCode, errorMessage } from './util/errors';
import { flowloopVersion } from './util/buildInfo';

type Main = (argv: string[]) => Promise<number>;

/** The exit code of a run's final status: 0 finished, 3 degraded, 130 cancelled, 1 otherwise (failed). */
export function exitCode(status: RunInfo['status']): number {
  return status === 'finished' ? 0 : status === 'degraded' ? 3 : status === 'cancelled' ? 130 : 1;
}

/** Subcommands owned by their modules (each exports `main(argv): Promise<number>`), loaded on use. */
const MODULE_COMMANDS: Record<string, () => Promise<{ main: Main }>> = {
  baselines: () => import('./cli/baselines'),
  trie: () => import('./cli/trie'),
  metrics: () => import('./cli/metrics'),
  score: () => import('./cli/score'),
  'export-onnx': () => import('./cli/exportOnnx'),
  prior: () => import('./cli/prior'),
  afl: () => import('./cli/afl'),
  lm: () => import('./cli/lm'),
  doctor: () => import('./cli/doctor'),
};

/** Parse a built-in command's argv from its table entry; `--help` prints its usage (returns undefined). */
function parseOrHelp(name: string, argv: string[]) {
  const parsed = parseCommandArgs(name, argv);
  if (parsed.flags.help) {
    process.stdout.write(commandUsage(name) + '\n');
    return undefined;
  }
  return parsed;
}

async function cmdValidate(argv: string[]): Promise<number> {
  const parsed = parseOrHelp('validate', argv);
  if (!parsed) return 0;
  const { positional } = parsed;
  if (!positional.length) throw new UsageError('validate needs at least one config file');
  let bad = 0;
  for (const f of positional) {
    const r = validateConfigFile(resolve(f));
    if (r.errors.length) {
      bad++;
      for (const e of r.errors) process.stdout.write(formatIssue(f, e) + '\n');
    } else {
      process.stdout.write(`${f}: ok (${r.config!.kind})\n`);
      // valid, but cannot run in this environment (e.g. the LLM endpoint's API key is missing): `run` exits 2
      for (const e of environmentIssues(r.config!, resolve(f))) process.stdout.write(`warning: ${formatIssue(f, e)}\n`);
    }
  }
  return bad ? 2 : 0;
}

/** Run a config (or the embedded demo) with progress on stderr, the results table then `run: <dir>` on stdout. */
async function runWithCli(opts: ExecuteOptions): Promise<number> {
  const session = new CliSession();
  const result = await execute({
    ...opts,
    signal: session.signal,
    onEvent: (e) => session.printer.handle(e),
    onRunDir: (d) => session.started(d),
  });
  session.printer.end();
  for (const line of result.table) process.stdout.write(line + '\n');
  for (const reason of result.degraded ?? []) process.stderr.write(`warning: degraded: ${reason}\n`);
  if (result.status === 'failed') process.stderr.write(`error: ${result.where ? result.where + ': ' : ''}${result.error}\n`);
  process.stdout.write(`run: ${result.runDir}\n`);
  return opts.detach && result.status === 'running' ? 0 : exitCode(result.status);
}

async function cmdRun(argv: string[]): Promise<number> {
  const parsed = parseOrHelp('run', argv);
  if (!parsed) return 0;
  const { positional, flags, lists } = parsed;
  if (positional.length !== 1) throw new UsageError('run needs exactly one config file');
  const jobs = flags.jobs === undefined ? 1 : Number(flags.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs must be a positive integer, got "${flags.jobs}"`);
  const workspace = (flags.dir as string) ?? process.cwd();
  if (typeof flags['run-dir'] === 'string') return runInJob(positional[0], lists.set, flags['run-dir'], flags.point as string | undefined);
  if (flags.point !== undefined) throw new UsageError('--point needs --run-dir (it is what a Slurm array task runs)');
  const executor = executorFlag(flags.executor, flags.profile, workspace);
  if (flags.detach && executor !== 'slurm') throw new UsageError('--detach is for --executor slurm');
  return runWithCli({
    configPath: positional[0],
    set: lists.set,
    outDir: flags.out as string | undefined,
    workspace,
    jobs,
    executor,
    profile: flags.profile as string | undefined,
    detach: !!flags.detach,
  });
}

/** Inside a Slurm job: the run (or sweep point) into the folder made at submission; progress on stderr as always. */
async function runInJob(configPath: string, set: string[] | undefined, runDir: string, point: string | undefined): Promise<number> {
  const n = point === undefined ? undefined : Number(point);
  if (n !== undefined && (!Number.isInteger(n) || n < 0)) throw new UsageError(`--point must be a point index (0, 1, …), got "${point}"`);
  const session = new CliSession();
  session.started(resolve(runDir));
  const { runInSlurmJob } = await import('./executor/slurmRun');
  const result = await runInSlurmJob({
    configPath,
    set,
    runDir,
    point: n,
    signal: session.signal,
    onEvent: (e) => session.printer.handle(e),
  });
  session.printer.end();
  for (const line of result.table) process.stdout.write(line + '\n');
  if (result.status === 'failed') process.stderr.write(`error: ${result.where ? result.where + ': ' : ''}${result.error}\n`);
  process.stdout.write(`run: ${result.runDir}\n`);
  return exitCode(result.status);
}

async function cmdDemo(argv: string[]): Promise<number> {
  const parsed = parseOrHelp('demo', argv);
  if (!parsed) return 0;
  const { positional, flags, lists } = parsed;
  if (positional.length) throw new UsageError(`demo takes no arguments, got "${positional[0]}"`);
  const { demoConfig } = await import('./flower/demo');
  const { config, configPath } = demoConfig();
  return runWithCli({
    configPath,
    configObject: config,
    set: lists.set,
    outDir: flags.out as string | undefined,
    workspace: process.cwd(),
  });
}

function findRun(ref: string, workspace: string): string {
  const direct = resolve(ref);
  if (existsSync(join(direct, 'run.json')) || existsSync(join(direct, 'sweep.json'))) return direct;
  if (existsSync(direct) && statSync(direct).isDirectory() && /[\\/]/.test(ref)) {
    throw new LocatedError('not a run folder (it has no run.json or sweep.json)', direct);
  }
  // every run folder by name, readable or not (`show` then says what is wrong with an unreadable one)
  const root = runsRoot(workspace);
  const matches = (existsSync(root) ? readdirSync(root) : [])
    .filter((n) => n.includes(ref))
    .map((n) => ({ dir: join(root, n) }))
    .filter((m) => existsSync(join(m.dir, 'run.json')) || existsSync(join(m.dir, 'sweep.json')));
  if (matches.length === 1) return matches[0].dir;
  if (!matches.length) throw new UsageError(`no run matches "${ref}" (looked in ${runsRoot(workspace)})`);
  throw new UsageError(
    `"${ref}" matches ${matches.length} runs: ${matches
      .slice(0, 5)
      .map((m) => basename(m.dir))
      .join(', ')}…`,
  );
}

async function cmdRuns(argv: string[]): Promise<number> {
  const parsed = parseOrHelp('runs', argv);
  if (!parsed) return 0;
  const { positional, flags } = parsed;
  if (positional.length) throw new UsageError(`runs takes no arguments, got "${positional[0]}" (a workspace is given with --dir)`);
  const root = runsRoot((flags.dir as string) ?? process.cwd());
  // listRuns skips folders whose run.json / sweep.json cannot be read, and takes any JSON as run.json:
  // keep what looks like a run, name every file left out rather than hide it or print "undefined"
  const looksLikeRun = (i: unknown) =>
    !!i &&
    typeof i === 'object' &&
    !Array.isArray(i) &&
    ['id', 'kind', 'status'].every((k) => typeof (i as Record<string, unknown>)[k] === 'string');
  const runs = listRuns(root).filter((r) => r.sweep || looksLikeRun(r.info));
  const listed = new Set(runs.map((r) => r.dir));
  if (existsSync(root)) {
    for (const name of readdirSync(root)) {
      const dir = join(root, name);
      if (listed.has(dir)) continue;
      const file = ['run.json', 'sweep.json'].map((f) => join(dir, f)).find(existsSync);
      if (file) process.stderr.write(`${file}: unreadable or corrupt, run not listed\n`);
    }
  }
  if (!runs.length) {
    process.stdout.write(`no runs in ${root}\n`);
    return 0;
  }
  const rows = runs.map((r) => [
    basename(r.dir),
    r.sweep ? `${r.info.kind} sweep` : r.info.kind,
    r.info.status,
    r.info.keyMetric ? `${r.info.keyMetric.name}=${fmt(r.info.keyMetric.value)}` : '',
    r.info.durationMs ? `${(r.info.durationMs / 1000).toFixed(1)} s` : '',
  ]);
  for (const l of formatTable(['run', 'kind', 'status', 'key metric', 'time'], rows)) process.stdout.write(l + '\n');
  return 0;
}

/** Read one of a run folder's files; a read or parse failure becomes a located error naming the file (exit 2). */
function readJsonFile<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    const message = errorMessage(e)
      .replace(`${file}:`, '')
      .replace(/^\d+: /, (m) => `line ${m.slice(0, -2)}: `);
    throw new LocatedError(
      e instanceof SyntaxError ? `not valid JSON: ${message}` : errorCode(e) ? `cannot read (${errorCode(e)})` : message,
      file,
    );
  }
}

/** run.json of a run folder, checked enough to print: a missing, unreadable or corrupt file is a located error. */
function readRunJson(dir: string): RunInfo {
  const file = join(dir, 'run.json');
  if (!existsSync(file)) throw new LocatedError('not a run folder (it has no run.json or sweep.json)', dir);
  const info = readJsonFile(file, () => JSON.parse(readFileSync(file, 'utf8')) as unknown);
  if (!info || typeof info !== 'object' || Array.isArray(info))
    throw new LocatedError(`expected a JSON object, got ${Array.isArray(info) ? 'an array' : JSON.stringify(info)}`, file);
  const r = info as Record<string, unknown>;
  for (const k of ['id', 'kind', 'status'] as const)
    if (typeof r[k] !== 'string') throw new LocatedError(`"${k}" is missing or not a string — not a Flowloop run.json?`, file);
  return info as RunInfo;
}

async function cmdShow(argv: string[]): Promise<number> {
  const parsed = parseOrHelp('show', argv);
  if (!parsed) return 0;
  const { positional, flags } = parsed;
  if (positional.length !== 1) throw new UsageError('show needs one run folder or run id');
  const dir = findRun(positional[0], (flags.dir as string) ?? process.cwd());
  if (existsSync(join(dir, 'sweep.json'))) {
    const table = join(dir, 'results.txt');
    process.stdout.write(existsSync(table) ? readFileSync(table, 'utf8') : readFileSync(join(dir, 'sweep.json'), 'utf8'));
    return 0;
  }
  const info = withLiveness(readRunJson(dir));
  const metrics = readJsonFile(join(dir, 'metrics.json'), () => readMetrics(dir)) ?? {};
  const events = readJsonFile(join(dir, 'events.jsonl'), () => readEvents(dir));
  const lines = [
    `run      ${info.id}`,
    `kind     ${info.kind}`,
    `status   ${info.status}${info.error ? ` — ${info.where ? info.where + ': ' : ''}${info.error}` : ''}`,
    ...(info.degraded ?? []).map((r) => `warning  degraded: ${r}`),
    `config   ${info.configPath}`,
    `seed     ${info.seed}`,
    `started  ${info.startedAt}${info.durationMs ? ` (${(info.durationMs / 1000).toFixed(1)} s)` : ''}`,
    `backend  ${info.backend ? `${info.backend.name} (${info.backend.reason})` : '—'}`,
    `events   ${events.length}`,
  ];
  for (const l of lines) process.stdout.write(l + '\n');
  const flat = Object.entries(metrics).filter(([, v]) => typeof v === 'number' || typeof v === 'string');
  if (flat.length) {
    process.stdout.write('\n');
    for (const l of formatTable(
      ['metric', 'value'],
      flat.map(([k, v]) => [k, v as number]),
    ))
      process.stdout.write(l + '\n');
  }
  const nested = Object.entries(metrics).filter(([, v]) => v && typeof v === 'object');
  for (const [k, v] of nested) process.stdout.write(`\n${k}: ${JSON.stringify(v)}\n`);
  return 0;
}

const COMMANDS: Record<string, Main> = {
  run: cmdRun,
  validate: cmdValidate,
  runs: cmdRuns,
  show: cmdShow,
  demo: cmdDemo,
};

/** Every command of the table has a handler here (checked by the CLI tests). */
export const COMMAND_NAMES = COMMAND_SPECS.map((c) => c.name);

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    if (cmd === 'help' && rest[0] && COMMAND_SPECS.some((c) => c.name === rest[0])) {
      process.stdout.write(commandUsage(rest[0]) + '\n');
      return 0;
    }
    process.stdout.write(overallUsage() + '\n');
    return cmd ? 0 : 2;
  }
  if (cmd === '--version' || cmd === '-v') {
    process.stdout.write(`${flowloopVersion()}\n`);
    return 0;
  }
  try {
    if (COMMANDS[cmd]) return await COMMANDS[cmd](rest);
    if (MODULE_COMMANDS[cmd]) return await (await MODULE_COMMANDS[cmd]()).main(rest);
    throw new UsageError(`unknown command "${cmd}" (try flowloop help)`);
  } catch (e) {
    if (process.env.FLOWLOOP_DEBUG) process.stderr.write(String((e as Error)?.stack ?? e) + '\n');
    if (e instanceof ConfigError) {
      process.stdout.write(e.message + '\n');
      return 2;
    }
    if (e instanceof SlurmError) {
      process.stderr.write(`flowloop: slurm: ${e.message}\n`);
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
    process.stderr.write(`flowloop: ${errorMessage(e)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
