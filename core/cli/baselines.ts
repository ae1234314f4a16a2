/**
 * `flowloop baselines <config> [--only a,b] [--jobs N] [--repeat N] [--dry-run] [--set path=value ...] [--out <dir>] [--dir <workspace>]`:
 * the baselines of the config's kind (core/experiment/baselines.ts, the table the extension's "Run
 * Baselines" uses), each an ordinary run of the config with the baseline's `--set` overrides, into the
 * usual run folders (`run: <folder>` per run), then a comparison table of the key metrics. A baseline
 * with `initFrom` starts from the weights of that baseline's run of the same seed (it waits for it).
 * `--repeat N` runs the whole set with seeds seed … seed+N−1 and ends with a mean ± std table, also written
 * as `baselines-<name>.json` beside the run folders (per row: finished seeds, run folders, mean/std/n per metric).
 * Every baseline's config is validated before anything runs (exit 2 with located errors); exit 0 all
 * finished, 3 all finished or degraded, 1 any failed, 130 cancelled.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  BASELINES,
  baselineComparison,
  baselineConfigName,
  baselineRunSets,
  baselinesFor,
  baselineSets,
  initDirOf,
  missingInitFrom,
  repeatComparison,
  repeatSummary,
  type Baseline,
  type BaselineOutcome,
} from '../experiment/baselines';
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
  const repeat = flags.repeat === undefined ? 1 : Number(flags.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) throw new UsageError(`--repeat must be a positive integer, got "${flags.repeat}"`);
  const configPath = resolve(positional[0]);
  const config = loadConfig(configPath, lists.set);
  const kind: string = config.kind;
  const name: string = baselineConfigName(config, configPath);
  const all = baselinesFor(kind);
  if (!all.length)
    throw new UsageError(`no baselines are defined for kind "${kind}" (kinds with baselines: ${Object.keys(BASELINES).join(', ')})`);
  let chosen: Baseline[] = all;
  if (typeof flags.only === 'string') {
    const names = flags.only
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = names.filter((n) => !all.some((b) => b.name === n));
    if (unknown.length || !names.length)
      throw new UsageError(
        `--only: unknown baseline ${unknown.map((n) => `"${n}"`).join(', ') || '(none given)'}; ${kind} has ${all.map((b) => b.name).join(', ')}`,
      );
    chosen = all.filter((b) => names.includes(b.name));
  }
  const seed0: number = Number.isInteger(config.seed) ? config.seed : 0;
  const seeds = Array.from({ length: repeat }, (_, k) => seed0 + k);
  // the overrides of one baseline run for one seed (core/experiment/baselines.ts, as the editor's Run Baselines)
  const setsFor = (b: Baseline, seed: number, initDir?: string) =>
    baselineRunSets(b, name, lists.set, { seed: repeat > 1 ? seed : undefined, initDir });
  const orphan = missingInitFrom(chosen);
  if (orphan)
    throw new UsageError(`--only: baseline ${orphan.name} starts from the ${orphan.initFrom} run; add ${orphan.initFrom} to --only`);
  // every baseline must make a valid config before anything runs (a missing schema field is a located error)
  for (const b of chosen)
    loadConfig(
      configPath,
      setsFor(b, seed0).filter((x) => !x.startsWith('init=')),
    );

  if (flags['dry-run']) {
    process.stdout.write(
      `${chosen.length} baseline${chosen.length === 1 ? '' : 's'} of ${positional[0]} (kind ${kind})${repeat > 1 ? `, seeds ${seeds.join(', ')}` : ''}; nothing run (--dry-run):\n`,
    );
    for (const b of chosen) {
      process.stdout.write(`\n${b.name}: ${b.description}\n`);
      for (const seed of seeds)
        process.stdout.write(
          `  flowloop run ${q(positional[0])} ${setsFor(b, seed)
            .map((s) => `--set ${q(s)}`)
            .join(' ')}\n`,
        );
    }
    return 0;
  }

  const session = new CliSession();
  const workspace = (flags.dir as string | undefined) ?? process.cwd();
  const outDir = flags.out as string | undefined;
  const t0 = Date.now();
  const outcomesBySeed: BaselineOutcome[][] = seeds.map(() => chosen.map((baseline) => ({ baseline, status: 'not run' })));
  const finished = new Map<string, Promise<void>>();
  const executor = executorFlag(flags.executor, flags.profile, workspace);
  if (executor === 'slurm' && (repeat > 1 || chosen.some((b) => b.initFrom))) {
    throw new UsageError(
      `--executor slurm submits the baseline set as one job array: --repeat and baselines that start from another baseline's run (${
        chosen
          .filter((b) => b.initFrom)
          .map((b) => b.name)
          .join(', ') || 'none here'
      }) run locally only; use --only without them`,
    );
  }
  if (executor === 'slurm') {
    // the baseline set as one job array (core/executor/slurmRun.ts), followed until every job ended
    const sub = await submitToSlurm({
      configPath,
      outDir,
      workspace,
      profile: flags.profile as string | undefined,
      variants: chosen.map((b) => ({ name: b.name, set: baselineSets(b, name, lists.set) })),
    });
    const say = (m: string) => session.printer.line(m);
    for (const line of submissionSummary(sub)) say(line);
    const watch = followSlurm(
      sub.runs.map((r) => ({ runDir: r.runDir, jobId: r.jobId })),
      (e) => session.printer.handle(e),
      say,
    );
    session.signal.addEventListener('abort', () => void watch.cancel());
    await watch.done;
    sub.runs.forEach((r, i) => {
      const info = readRunInfo(r.runDir);
      Object.assign(outcomesBySeed[0][i], { status: info?.status ?? 'failed', runDir: r.runDir, error: info?.error });
      if (info?.status === 'failed') process.stderr.write(`error: baseline ${outcomesBySeed[0][i].baseline.name}: ${info.error}\n`);
      process.stdout.write(`run: ${r.runDir}\n`);
    });
  }
  const runOne = async (o: BaselineOutcome, seed: number, outcomes: BaselineOutcome[]) => {
    if (o.baseline.initFrom) await finished.get(`${seed}/${o.baseline.initFrom}`);
    const { initDir, error } = initDirOf(o.baseline, outcomes);
    if (error) {
      Object.assign(o, { status: 'failed', error });
      process.stderr.write(`error: baseline ${o.baseline.name}${repeat > 1 ? ` (seed ${seed})` : ''}: ${o.error}\n`);
      return;
    }
    const set = setsFor(o.baseline, seed, initDir);
    session.printer.line(`flowloop: baseline ${o.baseline.name}${repeat > 1 ? ` seed ${seed}` : ''} (${set.join(' ')})`);
    if (jobs === 1) {
      const r = await runExperiment({
        configPath,
        set,
        outDir,
        workspace,
        signal: session.signal,
        onEvent: (e) => session.printer.handle(e),
        onRunDir: (d) => session.started(d),
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
  // the queue: seed by seed, baselines in table order (a baseline's initFrom comes before it)
  const queue = seeds.flatMap((seed, i) => outcomesBySeed[i].map((o) => ({ o, seed, outcomes: outcomesBySeed[i] })));
  let next = executor === 'slurm' ? queue.length : 0;
  await Promise.all(
    Array.from({ length: Math.min(jobs, queue.length) }, async () => {
      while (next < queue.length && !session.signal.aborted) {
        const job = queue[next++];
        const p = runOne(job.o, job.seed, job.outcomes);
        finished.set(
          `${job.seed}/${job.o.baseline.name}`,
          p.catch(() => undefined),
        );
        await p;
      }
    }),
  );
  session.printer.end();
  const seconds = (Date.now() - t0) / 1000;
  for (const [i, seed] of seeds.entries()) {
    process.stdout.write(`\nbaselines of ${name} (${kind})${repeat > 1 ? `, seed ${seed}` : ''}:\n`);
    for (const line of baselineComparison(kind, outcomesBySeed[i])) process.stdout.write(line + '\n');
  }
  if (repeat > 1) {
    const summary = repeatSummary(seeds, outcomesBySeed);
    process.stdout.write(`\nbaselines of ${name} (${kind}), mean ± std over seeds ${seeds.join(', ')}:\n`);
    for (const line of repeatComparison(kind, summary)) process.stdout.write(line + '\n');
    const dir = outDir ? resolve(outDir) : join(workspace, '.flowloop', 'runs');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `baselines-${name}.json`);
    writeFileSync(file, JSON.stringify({ config: configPath, kind, wallSeconds: seconds, ...summary }, null, 1) + '\n');
    process.stdout.write(`summary: ${file}\n`);
  }
  process.stdout.write(`wall time: ${seconds.toFixed(0)} s\n`);
  const ran = outcomesBySeed.flat();
  if (session.signal.aborted || ran.some((o) => o.status === 'cancelled')) return 130;
  return ran.every((o) => o.status === 'finished') ? 0 : ran.every((o) => o.status === 'finished' || o.status === 'degraded') ? 3 : 1;
}
