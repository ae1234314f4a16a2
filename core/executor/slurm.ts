/**
 * Slurm through its own tools (docs/design.md "Executors"): `sbatch` submits, `squeue` (then `sacct`
 * for jobs squeue has forgotten) reports, `scancel` stops. Nothing here schedules anything itself.
 * Every call has a time limit and a missing tool is an error that names it: never a hang.
 */
import { execFile, spawnSync } from 'node:child_process';
import type { ExecutorProfile } from './profile';

/** A Slurm problem a person can act on (a missing tool, an unknown partition, sbatch's refusal). */
export class SlurmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SlurmError';
  }
}

const TOOL_TIMEOUT_MS = 30_000;

function missing(tool: string): SlurmError {
  return new SlurmError(
    `\`${tool}\` not found on PATH: the Slurm executor needs Slurm's client tools (sbatch, squeue, scancel) on this machine — run on a cluster login node, or use --executor local`,
  );
}

/** Run a Slurm tool synchronously (submission): stdout, or a SlurmError with its stderr. */
export function slurmSync(tool: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(tool, args, { encoding: 'utf8', timeout: TOOL_TIMEOUT_MS, cwd: opts.cwd, env: opts.env ?? process.env });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw missing(tool);
  if (r.error)
    throw new SlurmError(
      `${tool} ${args.join(' ')}: ${(r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? `no answer within ${TOOL_TIMEOUT_MS / 1000} s (is slurmctld reachable?)` : r.error.message}`,
    );
  if (r.status !== 0)
    throw new SlurmError(`${tool} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`);
  return r.stdout;
}

/** The same, asynchronously (polling from the editor must not block it); resolves { ok:false } instead of throwing. */
function slurmAsync(tool: string, args: string[]): Promise<{ ok: boolean; stdout: string; error?: string }> {
  return new Promise((resolve) => {
    execFile(tool, args, { encoding: 'utf8', timeout: TOOL_TIMEOUT_MS, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') resolve({ ok: false, stdout: '', error: missing(tool).message });
      else if (err) resolve({ ok: false, stdout, error: `${tool}: ${(stderr || err.message).trim()}` });
      else resolve({ ok: true, stdout });
    });
  });
}

/** Check before submitting: sbatch exists and the profile's partition is one the cluster has. */
export function checkSlurm(profile: ExecutorProfile): void {
  slurmSync('sbatch', ['--version']);
  if (!profile.partition) return;
  const parts = slurmSync('sinfo', ['-h', '-o', '%P'])
    .split('\n')
    .map((s) => s.trim().replace(/\*$/, ''))
    .filter(Boolean);
  if (!parts.includes(profile.partition))
    throw new SlurmError(`no such partition "${profile.partition}" on this cluster (partitions: ${parts.join(', ') || 'none'})`);
}

/** `sbatch --parsable <script>` → the job id. */
export function sbatch(scriptPath: string, cwd: string): string {
  const out = slurmSync('sbatch', ['--parsable', scriptPath], { cwd }).trim();
  const id = out.split(';')[0].trim(); // "<id>[;<cluster>]"
  if (!/^\d+$/.test(id)) throw new SlurmError(`sbatch answered "${out}", not a job id`);
  return id;
}

/** `scancel` the given jobs (array ids cancel every task); errors are returned, not thrown. */
export async function scancel(ids: string[]): Promise<string | undefined> {
  if (!ids.length) return undefined;
  const r = await slurmAsync('scancel', ids);
  return r.ok ? undefined : r.error;
}

/** What Slurm says about one job (or one array task, id "<array>_<task>"). */
export interface SlurmJobState {
  id: string;
  /** PENDING, RUNNING, COMPLETING, COMPLETED, CANCELLED, FAILED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, PREEMPTED, … */
  state: string;
  /** Why it waits or ended (Priority, Resources, ReqNodeNotAvail, the node's down reason, …); "None" dropped. */
  reason?: string;
  node?: string;
}

/** Slurm states after which a job never runs again. */
export const SLURM_TERMINAL = new Set([
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'TIMEOUT',
  'NODE_FAIL',
  'OUT_OF_MEMORY',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'SPECIAL_EXIT',
  'REVOKED',
]);

function parseLines(text: string, into: Map<string, SlurmJobState>): void {
  for (const line of text.split('\n')) {
    const [id, state, reason, node] = line.trim().split('|');
    if (!id || !state || into.has(id)) continue;
    const s = state.split(' ')[0]; // sacct: "CANCELLED by 0"
    into.set(id, {
      id,
      state: s,
      reason: reason && reason !== 'None' && reason !== '(null)' ? reason : undefined,
      node: node && node !== 'None assigned' && node !== '(null)' ? node : undefined,
    });
  }
}

/**
 * One `squeue` call for all the jobs (array tasks one per line), then one `sacct` call for those squeue no
 * longer knows (when accounting is configured). Jobs neither knows are absent from the map.
 */
export async function queryJobs(jobIds: string[]): Promise<{ states: Map<string, SlurmJobState>; error?: string }> {
  const states = new Map<string, SlurmJobState>();
  const ids = [...new Set(jobIds.map((j) => j.split('_')[0]))];
  if (!ids.length) return { states };
  const sq = await slurmAsync('squeue', ['-h', '-r', '-t', 'all', '-j', ids.join(','), '-o', '%i|%T|%r|%N']);
  if (sq.ok) parseLines(sq.stdout, states);
  const unknown = jobIds.filter((j) => !states.has(j));
  if (!unknown.length) return { states };
  const sa = await slurmAsync('sacct', [
    '-n',
    '-P',
    '-X',
    '-j',
    [...new Set(unknown.map((j) => j.split('_')[0]))].join(','),
    '-o',
    'JobID,State,Reason,NodeList',
  ]);
  if (sa.ok) parseLines(sa.stdout, states);
  return { states, error: sq.ok ? undefined : sq.error };
}

/** sbatch option lines of a profile. */
export function sbatchOptions(profile: ExecutorProfile): string[] {
  const o: string[] = [];
  if (profile.partition) o.push(`--partition=${profile.partition}`);
  if (profile.account) o.push(`--account=${profile.account}`);
  if (profile.qos) o.push(`--qos=${profile.qos}`);
  if (profile.time) o.push(`--time=${profile.time}`);
  if (profile.cpus) o.push(`--cpus-per-task=${profile.cpus}`);
  if (profile.mem) o.push(`--mem=${profile.mem}`);
  if (profile.gpus !== undefined) o.push(`--gpus=${profile.gpus}`);
  if (profile.gres) o.push(`--gres=${profile.gres}`);
  return [...o, ...(profile.sbatch ?? [])];
}

/** POSIX shell quoting. */
export const shq = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export interface SubmitScript {
  jobName: string;
  profile: ExecutorProfile;
  /** One command line per task (argv); more than one (or `array`) makes a job array. */
  tasks: string[][];
  array: boolean;
  /** Slurm's own stdout/stderr files (patterns with %j / %A_%a). */
  stdout: string;
  stderr: string;
  workspace: string;
  header: string;
}

/** The batch script: #SBATCH lines from the profile, its setup lines, then the task's `flowloop run` (exec: signals reach it). */
export function submitScript(s: SubmitScript): string {
  const lines = ['#!/bin/bash', ...s.header.split('\n').map((l) => `# ${l}`), `#SBATCH --job-name=${s.jobName}`];
  if (s.array) lines.push(`#SBATCH --array=0-${s.tasks.length - 1}`);
  // a job Slurm kills (node failure) is reported, not silently requeued: rerunning the sweep resubmits it
  lines.push(
    `#SBATCH --output=${s.stdout}`,
    `#SBATCH --error=${s.stderr}`,
    '#SBATCH --no-requeue',
    ...sbatchOptions(s.profile).map((o) => `#SBATCH ${o}`),
  );
  lines.push('set -e', ...(s.profile.setup ?? []), `cd ${shq(s.workspace)}`);
  if (!s.array) lines.push(`exec ${s.tasks[0].map(shq).join(' ')}`);
  else {
    lines.push('case "$SLURM_ARRAY_TASK_ID" in');
    s.tasks.forEach((t, i) => lines.push(`  ${i}) exec ${t.map(shq).join(' ')} ;;`));
    lines.push('  *) echo "flowloop: no task $SLURM_ARRAY_TASK_ID in this array" >&2; exit 2 ;;', 'esac');
  }
  return lines.join('\n') + '\n';
}
