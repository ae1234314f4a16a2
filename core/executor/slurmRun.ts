/**
 * Submitting to Slurm (docs/design.md "Executors"): one job per run, a sweep or a baseline set as one job
 * array. Each job runs the same `flowloop run` the local executor runs, into a run folder created here on
 * the shared filesystem; run.json records the job (id, state, node, script) and the batch script is
 * written beside it, so a person can read and resubmit it. Rerunning a sweep resubmits only the points that
 * did not finish (and are not still queued), resuming from the last checkpoint where the kind has `resume`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { basename, extname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RunInfo, SlurmRunInfo } from '../experiment/events';
import { ConfigError, loadConfig, runSingle, type RunOptions, type RunResult } from '../experiment/runner';
import { KIND_SCHEMAS } from '../experiment/schema';
import { createRunFolder, readRunInfo, runsRoot, writeFileAtomic, writeJsonAtomic } from '../experiment/runStore';
import { expandAxes, expandGrid, pointConfig, startedSweepIndex, sweepFolder, type SweepIndex } from '../experiment/sweep';
import { locateInFile, validateConfigObject } from '../experiment/validate';
import { resolveProfile, type ExecutorProfile } from './profile';
import { checkSlurm, queryJobs, sbatch, SLURM_TERMINAL, submitScript } from './slurm';
import { settleRun } from './slurmWatch';
import type { FlowloopConfig, SweepSpec } from '../experiment/configTypes';

/** `node <flowloop cli>` as the job runs it: the bundled dist/cli.js, or core/cli.ts through tsx when running from sources. */
export function flowloopCommand(node = process.execPath): string[] {
  if (extname(__filename) === '.js' && existsSync(join(__dirname, 'cli.js'))) return [node, join(__dirname, 'cli.js')];
  const loader = join(__dirname, '..', '..', 'node_modules', 'tsx', 'dist', 'loader.mjs');
  return [node, '--import', pathToFileURL(loader).href, join(__dirname, '..', 'cli.ts')];
}

/** One submitted run: its folder, its job (array task) and Slurm's stderr file for it. */
export interface SubmittedRun {
  runDir: string;
  jobId: string;
  stderr: string;
  /** The sweep point or the baseline it is. */
  label: string;
  sweepIndex?: number;
}

export interface Submission {
  /** The job (or array) id. */
  jobId: string;
  script: string;
  runs: SubmittedRun[];
  /** Set for a sweep: its folder (sweep.json). */
  sweepDir?: string;
  /** Runs already finished or still queued from an earlier submission (a rerun leaves them alone). */
  kept: { runDir: string; jobId?: string; status: string; label: string }[];
  profile: string;
  /** The config, loaded with --set (a sweep's results table needs its metrics). */
  config: FlowloopConfig;
}

interface Task {
  argv: string[];
  runDir: string;
  info: RunInfo;
  label: string;
  sweepIndex?: number;
}

export interface SubmitOptions {
  configPath: string;
  set?: string[];
  outDir?: string;
  workspace?: string;
  /** executors.json profile name (default: its `default`). */
  profile?: string;
  /** Baselines instead of the config itself: each a name and its `--set` overrides (one array task each). */
  variants?: { name: string; set: string[] }[];
}

const setArgs = (set: string[]) => set.flatMap((s) => ['--set', s]);

/** Submit a config (one job), a sweep (one array of its unfinished points) or a set of variants (one array). */
export async function submitToSlurm(opts: SubmitOptions): Promise<Submission> {
  const workspace = resolve(opts.workspace ?? process.cwd());
  const configPath = resolve(opts.configPath);
  const set = opts.set ?? [];
  const config = loadConfig(configPath, set);
  const { name: profileName, profile } = resolveProfile(workspace, 'slurm', opts.profile);
  checkSlurm(profile);
  const name: string = config.name ?? basename(configPath).replace(/\.flowloop\.json$|\.json$/, '');
  const root = opts.outDir ? resolve(opts.outDir) : runsRoot(workspace);
  const cli = flowloopCommand(profile.node);
  const base = (runDir: string, runName: string, extra: Partial<RunInfo> = {}): RunInfo => ({
    id: basename(runDir),
    name: runName,
    kind: config.kind,
    status: 'running',
    configPath,
    seed: config.seed ?? 42,
    startedAt: new Date().toISOString(),
    versions: {},
    pid: 0,
    ...extra,
  });
  const kept: Submission['kept'] = [];
  let tasks: Task[];
  let scriptDir: string;
  let sweep: { dir: string; index: SweepIndex } | undefined;

  if (opts.variants) {
    tasks = opts.variants.map((v) => {
      const s = [...set, ...v.set];
      const c = loadConfig(configPath, s);
      const runDir = createRunFolder(root, c.name ?? `${name}-${v.name}`);
      return {
        argv: [...cli, 'run', configPath, ...setArgs(s), '--run-dir', runDir],
        runDir,
        info: base(runDir, c.name ?? name),
        label: v.name,
      };
    });
    scriptDir = join(root, 'slurm');
  } else if (config.sweep) {
    sweep = await planSweep({ ...config, sweep: config.sweep }, configPath, name, root, kept);
    const { dir, index } = sweep;
    tasks = index.points
      .filter((p) => p.status === 'pending')
      .map((p) => {
        const runDir = createRunFolder(dir, `${name}-p${p.index}`);
        const resume = resumeFrom(config.kind, p.runDir);
        p.runDir = runDir;
        const s = resume ? [...set, `resume=${resume}`] : set;
        return {
          argv: [...cli, 'run', configPath, ...setArgs(s), '--point', String(p.index), '--run-dir', runDir],
          runDir,
          label: `point ${p.index} ${JSON.stringify(p.assignments)}${resume ? ` (resumed from ${basename(resume)})` : ''}`,
          info: base(runDir, `${name}-p${p.index}`, { seed: p.seed, sweep: { dir, index: p.index, assignments: p.assignments } }),
          sweepIndex: p.index,
        };
      });
    scriptDir = join(dir, 'slurm');
  } else {
    const runDir = createRunFolder(root, name);
    tasks = [{ argv: [...cli, 'run', configPath, ...setArgs(set), '--run-dir', runDir], runDir, info: base(runDir, name), label: name }];
    scriptDir = join(runDir, 'slurm');
  }
  if (!tasks.length) {
    if (sweep) writeJsonAtomic(join(sweep.dir, 'sweep.json'), sweep.index);
    return { jobId: '', script: '', runs: [], sweepDir: sweep?.dir, kept, profile: profileName, config };
  }

  const array = tasks.length > 1 || !!sweep || !!opts.variants;
  mkdirSync(scriptDir, { recursive: true });
  const out = (ext: string) => join(scriptDir, array ? `%A_%a.${ext}` : `%j.${ext}`);
  const script = submitScript({
    jobName: `flowloop-${name}`,
    profile,
    tasks: tasks.map((t) => t.argv),
    array,
    stdout: out('out'),
    stderr: out('err'),
    workspace,
    header: [
      `Flowloop: ${tasks.length} run${tasks.length === 1 ? '' : 's'} of ${relative(workspace, configPath) || configPath} (profile "${profileName}")`,
      ...tasks.map((t, i) => `${array ? `task ${i}: ` : ''}${t.label} → ${t.runDir}`),
      `Resubmit: sbatch ${join(scriptDir, 'submit-<job>.sh')} (each task reruns into its run folder)`,
    ].join('\n'),
  });
  const pendingScript = join(scriptDir, `submit-${process.pid}-${Date.now()}.sh`);
  writeFileAtomic(pendingScript, script);
  let jobId: string;
  try {
    jobId = sbatch(pendingScript, workspace);
  } catch (e) {
    // nothing was queued: the run folders say so instead of "running"
    for (const t of tasks)
      writeJsonAtomic(join(t.runDir, 'run.json'), {
        ...t.info,
        status: 'failed',
        error: String((e as Error).message),
        endedAt: new Date().toISOString(),
      });
    throw e;
  }
  const scriptPath = join(scriptDir, `submit-${jobId}.sh`);
  renameSync(pendingScript, scriptPath);
  const runs: SubmittedRun[] = tasks.map((t, i) => {
    const id = array ? `${jobId}_${i}` : jobId;
    const stderr = join(scriptDir, array ? `${jobId}_${i}.err` : `${jobId}.err`);
    const slurm: SlurmRunInfo = {
      jobId: id,
      state: 'PENDING',
      profile: profileName,
      script: scriptPath,
      stdout: stderr.replace(/\.err$/, '.out'),
      stderr,
      submittedAt: new Date().toISOString(),
    };
    // the job may already have started and written its own run.json: keep that, add what only we know
    const now = readRunInfo(t.runDir);
    writeJsonAtomic(
      join(t.runDir, 'run.json'),
      now
        ? { ...now, slurm: { ...slurm, ...now.slurm, jobId: id, script: scriptPath, stdout: slurm.stdout, stderr } }
        : { ...t.info, slurm },
    );
    return { runDir: t.runDir, jobId: id, stderr, label: t.label, sweepIndex: t.sweepIndex };
  });
  if (sweep) {
    for (const r of runs) sweep.index.points[r.sweepIndex!].status = 'running';
    sweep.index.slurmJobs = [...(sweep.index.slurmJobs ?? []), jobId];
    writeJsonAtomic(join(sweep.dir, 'sweep.json'), sweep.index);
  }
  return { jobId, script: scriptPath, runs, sweepDir: sweep?.dir, kept, profile: profileName, config };
}

/** The sweep's points: finished ones and ones still queued from an earlier submission are kept, the rest are `pending`. */
async function planSweep(
  config: FlowloopConfig & { sweep: SweepSpec },
  configPath: string,
  name: string,
  root: string,
  kept: Submission['kept'],
): Promise<{ dir: string; index: SweepIndex }> {
  const axes = expandAxes(config.sweep);
  const repeat: number = config.sweep.repeat ?? 1;
  const points = expandGrid(axes, repeat, config.seed ?? 42);
  for (const p of points) {
    const r = validateConfigObject(pointConfig(config, p, name), configPath, `sweep point ${p.index}: ${JSON.stringify(p.assignments)}`);
    if (r.errors.length)
      throw new ConfigError(
        configPath,
        r.errors.map((e) => ({ ...e, path: `/sweep/parameters (${e.path || '/'})`, ...locateInFile(configPath, '/sweep/parameters') })),
      );
  }
  const dir = sweepFolder(root, name, config);
  mkdirSync(dir, { recursive: true });
  const indexPath = join(dir, 'sweep.json');
  const previous: SweepIndex | undefined = existsSync(indexPath) ? JSON.parse(readFileSync(indexPath, 'utf8')) : undefined;
  // points an earlier submission left "running": ask Slurm, and settle the ones it has ended (nobody was watching)
  const stale = (previous?.points ?? [])
    .map((q) => q.runDir)
    .filter((d): d is string => !!d && readRunInfo(d)?.status === 'running' && !!readRunInfo(d)?.slurm);
  if (stale.length) {
    const { states, error } = await queryJobs(stale.map((d) => readRunInfo(d)!.slurm!.jobId));
    for (const d of stale) {
      const s = states.get(readRunInfo(d)!.slurm!.jobId);
      if ((s && SLURM_TERMINAL.has(s.state)) || (!s && !error)) settleRun(d, s);
    }
  }
  for (const p of points) {
    const old = previous?.points.find((q) => q.index === p.index)?.runDir;
    const info = old ? readRunInfo(old) : undefined;
    if (!old || !info) continue;
    const queued = info.status === 'running' && info.slurm && !SLURM_TERMINAL.has(info.slurm.state);
    // as a local sweep reruns (core/experiment/sweep.ts): only finished points are kept
    if (info.status === 'finished' || queued) {
      Object.assign(p, { runDir: old, status: info.status });
      kept.push({
        runDir: old,
        jobId: info.slurm?.jobId,
        status: queued ? `still queued (${info.slurm!.state})` : 'finished',
        label: `point ${p.index}`,
      });
    } else p.runDir = old; // failed, cancelled or never started: resubmitted (resumeFrom reads its checkpoints)
  }
  const index = startedSweepIndex(
    { name, kind: config.kind, configPath, seed: config.seed ?? 42, axes, repeat, points, slurmJobs: previous?.slurmJobs },
    previous,
  );
  return { dir, index };
}

/** A failed point's folder to resume from: only for kinds with a `resume` field, and only if it wrote a checkpoint. */
function resumeFrom(kind: string, oldRunDir: string | undefined): string | undefined {
  if (!oldRunDir || !KIND_SCHEMAS[kind]?.properties.resume) return undefined;
  const ck = join(oldRunDir, 'checkpoints');
  return existsSync(ck) && readdirHasManifest(ck) ? oldRunDir : undefined;
}

function readdirHasManifest(dir: string): boolean {
  try {
    return readdirSync(dir).some((d) => existsSync(join(dir, d, 'manifest.json')));
  } catch {
    return false;
  }
}

/**
 * Inside the job: run one sweep point (`flowloop run <sweep config> --point N --run-dir D`) or one run
 * (`--run-dir D`) into the folder made at submission, recording the node and job in run.json.
 */
export function runInSlurmJob(opts: RunOptions & { point?: number; runDir: string }): Promise<RunResult> {
  const configPath = resolve(opts.configPath);
  const before = readRunInfo(opts.runDir);
  const env = process.env;
  const jobId = env.SLURM_ARRAY_JOB_ID ? `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID}` : env.SLURM_JOB_ID;
  const slurm: SlurmRunInfo | undefined =
    before?.slurm || jobId
      ? {
          profile: '',
          script: '',
          stdout: '',
          stderr: '',
          submittedAt: '',
          ...before?.slurm,
          jobId: jobId ?? before!.slurm!.jobId,
          state: 'RUNNING',
          reason: undefined,
          node: env.SLURMD_NODENAME ?? before?.slurm?.node,
        }
      : undefined;
  const extra: Partial<RunInfo> = { ...(slurm ? { slurm } : {}), ...(before?.sweep ? { sweep: before.sweep } : {}) };
  if (opts.point === undefined) return runSingle({ ...opts, runDir: opts.runDir, runInfoExtra: { ...opts.runInfoExtra, ...extra } });
  const config = loadConfig(configPath, opts.set);
  if (!config.sweep)
    throw new ConfigError(configPath, [
      { message: '--point needs a config with a "sweep" block', path: '/sweep', ...locateInFile(configPath, '') },
    ]);
  const name: string = config.name ?? basename(configPath).replace(/\.flowloop\.json$|\.json$/, '');
  const p = expandGrid(expandAxes(config.sweep), config.sweep.repeat ?? 1, config.seed ?? 42)[opts.point];
  if (!p)
    throw new ConfigError(configPath, [
      { message: `--point ${opts.point}: the sweep has no such point`, path: '/sweep', ...locateInFile(configPath, '/sweep') },
    ]);
  const sweepInfo = before?.sweep ?? { dir: resolve(opts.runDir, '..'), index: p.index, assignments: p.assignments };
  return runSingle({
    ...opts,
    set: [],
    configObject: pointConfig(config, p, name),
    runDir: opts.runDir,
    runInfoExtra: { ...opts.runInfoExtra, ...extra, sweep: sweepInfo },
  });
}

export type { ExecutorProfile };
