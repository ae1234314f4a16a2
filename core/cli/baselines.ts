/**
 * `flowloop baselines <config> [--only a,b] [--jobs N] [--dry-run] [--set path=value ...] [--out <dir>] [--dir <workspace>]`:
 * the baselines of the config's kind (core/experiment/baselines.ts, the table the extension's "Run
 * Baselines" uses), each an ordinary run of the config with the baseline's `--set` overrides, into the
 * usual run folders (`run: <folder>` per run), then a comparison table of the key metrics.
 * Every baseline's config is validated before anything runs (exit 2 with located errors); exit 0 all
 * finished, 3 all finished or degraded, 1 any failed, 130 cancelled.
 */
import { basename, resolve } from 'node:path';
import { BASELINES, baselineComparison, baselinesFor, baselineSets, type Baseline, type BaselineOutcome } from '../experiment/baselines';
import { runExperiment } from '../experiment/run';
import { loadConfig } from '../experiment/runner';
import { UsageError } from './args';
import { parseCommandArgs, commandUsage } from './commands';
import { CliSession, runInWorker } from './session';
import { followSlurm, submissionSummary } from '../executor';
import { submitToSlurm } from '../executor/slurmRun';
import { readRunInfo } from '../experiment/runStore';
import { executorFlag } from './executorFlag';

const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export async function main(argv: string[]): Promise<number> {
  const { positional, flags, lists } = parseCommandArgs('baselines', argv);
  if (flags.help) {
    process.stdout.write(commandUsage('baselines') + '\n');
    return 0;
  }
  if (positional.length !== 1) throw new UsageError('baselines needs exactly one config file');
  const jobs = flags.jobs === undefined ? 1 : Number(flags.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs must be a positive integer, got "${flags.jobs}"`);
  const configPath = resolve(positional[0]);
  const config = loadConfig(configPath, lists.set);
  const kind: string = config.kind;
  const name: string = config.name ?? basename(configPath).replace(/\.flowloop\.json$|\.json$/, '');
  const all = baselinesFor(kind);
  if (!all.length) throw new UsageError(`no baselines are defined for kind "${kind}" (kinds with baselines: ${Object.keys(BASELINES).join(', ')})`);
  let chosen: Baseline[] = all;
  if (typeof flags.only === 'string') {
    const names = flags.only.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = names.filter((n) => !all.some((b) => b.name === n));
    if (unknown.length || !names.length) throw new UsageError(`--only: unknown baseline ${unknown.map((n) => `"${n}"`).join(', ') || '(none given)'}; ${kind} has ${all.map((b) => b.name).join(', ')}`);
    chosen = all.filter((b) => names.includes(b.name));
  }
  // every baseline must make a valid config before anything runs (a missing schema field is a located error)
  for (const b of chosen) loadConfig(configPath, baselineSets(b, name, lists.set));

  if (flags['dry-run']) {
    process.stdout.write(`${chosen.length} baseline${chosen.length === 1 ? '' : 's'} of ${positional[0]} (kind ${kind}); nothing run (--dry-run):\n`);
    for (const b of chosen) {
      process.stdout.write(`\n${b.name}: ${b.description}\n`);
      process.stdout.write(`  flowloop run ${q(positional[0])} ${baselineSets(b, name, lists.set).map((s) => `--set ${q(s)}`).join(' ')}\n`);
    }
    return 0;
  }

  const session = new CliSession();
  const workspace = (flags.dir as string | undefined) ?? process.cwd();
  const outDir = flags.out as string | undefined;
  const outcomes: BaselineOutcome[] = chosen.map((baseline) => ({ baseline, status: 'not run' }));
  const executor = executorFlag(flags.executor, flags.profile, workspace);
  if (executor === 'slurm') {
    // the baseline set as one job array (core/executor/slurmRun.ts), followed until every job ended
    const sub = await submitToSlurm({ configPath, outDir, workspace, profile: flags.profile as string | undefined, variants: chosen.map((b) => ({ name: b.name, set: baselineSets(b, name, lists.set) })) });
    const say = (m: string) => session.printer.line(m);
    for (const line of submissionSummary(sub)) say(line);
    const watch = followSlurm(sub.runs.map((r) => ({ runDir: r.runDir, jobId: r.jobId })), (e) => session.printer.handle(e), say);
    session.signal.addEventListener('abort', () => void watch.cancel());
    await watch.done;
    sub.runs.forEach((r, i) => {
      const info = readRunInfo(r.runDir);
      Object.assign(outcomes[i], { status: info?.status ?? 'failed', runDir: r.runDir, error: info?.error });
      if (info?.status === 'failed') process.stderr.write(`error: baseline ${outcomes[i].baseline.name}: ${info.error}\n`);
      process.stdout.write(`run: ${r.runDir}\n`);
    });
  }
  const runOne = async (o: BaselineOutcome) => {
    const set = baselineSets(o.baseline, name, lists.set);
    session.printer.line(`flowloop: baseline ${o.baseline.name} (${o.baseline.set.join(' ')})`);
    if (jobs === 1) {
      const r = await runExperiment({
        configPath, set, outDir, workspace, signal: session.signal,
        onEvent: (e) => session.printer.handle(e), onRunDir: (d) => session.started(d),
      });
      Object.assign(o, { status: r.status, runDir: r.runDir, error: r.error ? `${r.where ? r.where + ': ' : ''}${r.error}` : undefined });
      session.printer.end();
      for (const line of r.table) process.stdout.write(line + '\n');
    } else {
      const r = await runInWorker({ type: 'start', configPath, set, outDir, workspace }, session.signal, (e) => {
        if (e.type === 'run-started') session.started(e.runDir);
        session.printer.handle(e);
      });
      Object.assign(o, r);
    }
    session.ended(o.runDir);
    if (o.status === 'failed') process.stderr.write(`error: baseline ${o.baseline.name}: ${o.error ?? 'failed'}\n`);
    if (o.status === 'degraded') process.stderr.write(`warning: baseline ${o.baseline.name} is degraded (see its run.json)\n`);
    if (o.runDir) process.stdout.write(`run: ${o.runDir}\n`);
  };
  let next = executor === 'slurm' ? outcomes.length : 0;
  await Promise.all(Array.from({ length: Math.min(jobs, outcomes.length) }, async () => {
    while (next < outcomes.length && !session.signal.aborted) await runOne(outcomes[next++]);
  }));
  session.printer.end();
  process.stdout.write(`\nbaselines of ${name} (${kind}):\n`);
  for (const line of baselineComparison(kind, outcomes)) process.stdout.write(line + '\n');
  if (session.signal.aborted || outcomes.some((o) => o.status === 'cancelled')) return 130;
  return outcomes.every((o) => o.status === 'finished') ? 0 : outcomes.every((o) => o.status === 'finished' || o.status === 'degraded') ? 3 : 1;
}
