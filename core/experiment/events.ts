/**
 * Run events: the one typed stream from the worker (or the in-process CLI runner) to every consumer
 * (events.jsonl on disk, the CLI's progress lines, the extension host, the webviews).
 *
 * Rule (docs/design.md "Contracts"): the runner appends each event to the run folder's `events.jsonl`
 * and flushes it BEFORE sending it anywhere else, so a view can always be rebuilt from disk and a
 * crash or a kill loses nothing already reported.
 */
import type { RunProgress } from './runProgress';

/** Every event carries the run id (the run folder's name) and a wall-clock time (ms since epoch). */
interface EventBase {
  runId: string;
  t: number;
}

export interface RunStartedEvent extends EventBase {
  type: 'run-started';
  kind: string;
  name: string;
  runDir: string;
  configPath: string;
  seed: number;
}

/** Coarse progress of the current phase ("train epoch 2", "decode", "users"). */
export interface ProgressEvent extends EventBase {
  type: 'progress';
  phase: string;
  done: number;
  total: number;
  message?: string;
  /** The run as a whole (named stage, epoch, share done), stamped by the runner (runProgress.ts). */
  run?: RunProgress;
}

/** One scalar: a loss term per step, a validation metric per epoch, a HR@1 per round, ... */
export interface MetricEvent extends EventBase {
  type: 'metric';
  /** e.g. "train/sft", "train/gfn", "train/total", "train/lr", "valid/loss", "valid/ndcg@10", "afl/hr@1". */
  name: string;
  step: number;
  value: number;
  /** Optional series qualifier, e.g. the objective ("flower", "sft") or the AFL variant. */
  series?: string;
  epoch?: number;
}

/** A node of a trie snapshot: enough to draw target flow vs the policy's probability. */
export interface TrieSnapshotNode {
  /** Node index in the flat trie (stable for one dataset + tokenizer). */
  id: number;
  parent: number; // -1 for the root
  /** Token id in the tokenizer's own id space (-1 for the root). */
  token: number;
  /** Decoded text of this token (for tooltips). */
  text: string;
  /** Target flow F(s), normalised so that F(root) = 1 (= P*(prefix)). */
  flow: number;
  /** Process reward R_p = F(s) / F(parent). */
  rp: number;
  /** The policy's probability of reaching this prefix (product of its conditional probs), if measured. */
  policy?: number;
  terminal?: boolean;
  /** For a terminal node: the full title. */
  title?: string;
}

export interface TrieSnapshotEvent extends EventBase {
  type: 'trie-snapshot';
  /** Checkpoint label, e.g. "epoch 0" (before training), "epoch 3". */
  checkpoint: string;
  step: number;
  dataset: string;
  tokenizer: string;
  /** Total node count of the full trie (the snapshot may hold only the top nodes). */
  totalNodes: number;
  nodes: TrieSnapshotNode[];
}

/** One AFL turn: a rec-agent or user-agent message in one round for one user. */
export interface DialogueTurnEvent extends EventBase {
  type: 'dialogue-turn';
  user: string | number;
  round: number;
  agent: 'rec' | 'user';
  /** "rule-based, not an LLM" agents say so here and in every view. */
  agentKind: 'llm' | 'rule-based';
  prompt: string;
  response: string;
  reason?: string;
  item?: string;
  decision?: 'yes' | 'no';
  /** Parse problems, retries, items not in the candidate list, HTTP failures: never silent. */
  errors?: string[];
  inCandidates?: boolean;
  hit?: boolean;
  candidates?: string[];
  prior?: string;
  focus?: string[];
  target?: string;
}

/** A file written into the run folder that a person or a view may open. */
export interface ArtifactEvent extends EventBase {
  type: 'artifact';
  /** Path relative to the run folder. */
  path: string;
  kind: 'checkpoint' | 'plot' | 'table' | 'recommendations' | 'transcripts' | 'model' | 'other';
  description?: string;
}

/** Free-form log line (also goes to the Output channel / stderr). */
export interface LogEvent extends EventBase {
  type: 'log';
  level: 'info' | 'warn' | 'error';
  message: string;
}

export interface RunFinishedEvent extends EventBase {
  type: 'run-finished';
  /** The final metrics (also in metrics.json). */
  metrics: Record<string, unknown>;
  durationMs: number;
  /** Set when the run ended with status `degraded`: the reasons reported (RunContext.degrade). */
  degraded?: string[];
}

/**
 * The runner reported that the run's results cannot be trusted as they stand (e.g. "122/122 LLM calls
 * failed"): the run goes on (status `degraded` at the end) unless the kind asked to fail fast.
 */
export interface RunDegradedEvent extends EventBase {
  type: 'run-degraded';
  reason: string;
}

export interface RunFailedEvent extends EventBase {
  type: 'run-failed';
  error: string;
  /** Where it went wrong, e.g. "data/amazon/.../test.csv:17" or a config location. */
  where?: string;
}

export interface RunCancelledEvent extends EventBase {
  type: 'run-cancelled';
  reason: string;
}

export type RunEvent =
  | RunStartedEvent
  | ProgressEvent
  | MetricEvent
  | TrieSnapshotEvent
  | DialogueTurnEvent
  | ArtifactEvent
  | LogEvent
  | RunFinishedEvent
  | RunDegradedEvent
  | RunFailedEvent
  | RunCancelledEvent;

export type RunEventType = RunEvent['type'];

/** An event before the runner stamps runId and t on it. */
export type RunEventInput = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'runId' | 't'> : never) : never;

/**
 * A run's state. `degraded`: it ran to the end and wrote its results, but its runner reported that they
 * cannot be trusted as they stand (the reasons are in run.json `degraded`); the CLI exits 3 for it.
 */
export type RunStatus = 'running' | 'finished' | 'degraded' | 'failed' | 'cancelled';

/** A run that ended and wrote its results (finished or degraded). */
export const hasResults = (s: RunStatus | string | undefined): boolean => s === 'finished' || s === 'degraded';

/** run.json */
export interface RunInfo {
  id: string;
  name: string;
  kind: string;
  status: RunStatus;
  configPath: string;
  seed: number;
  startedAt: string;
  endedAt?: string;
  durationMs?: number;
  error?: string;
  where?: string;
  /** Why the run is (or, for a failed run, was first) degraded, in the order reported (RunContext.degrade). */
  degraded?: string[];
  backend?: { name: string; reason: string };
  versions: Record<string, string>;
  gitCommit?: string;
  pid: number;
  /** The headline metric to show in the tree ("ndcg@10", "hr@1"...), if the kind names one. */
  keyMetric?: { name: string; value: number };
  /** Set for a sweep point: the parent sweep folder and the point's assignments. */
  sweep?: { dir: string; index: number; assignments: Record<string, unknown> };
  /** Set for a run submitted to Slurm (core/executor/slurmRun.ts): where the job is and what Slurm says of it. */
  slurm?: SlurmRunInfo;
}

/** run.json's `slurm` block: written at submission, updated by the job when it starts and by the watcher. */
export interface SlurmRunInfo {
  /** "<id>" or "<array id>_<task>". */
  jobId: string;
  /** Slurm's state (PENDING, RUNNING, COMPLETED, CANCELLED, TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, …). */
  state: string;
  /** Why it waits or why Slurm ended it (Priority, Resources, the node's down reason, …). */
  reason?: string;
  node?: string;
  /** The executors.json profile it was submitted with. */
  profile: string;
  /** The batch script (sbatch-able again), Slurm's stdout and stderr files. */
  script: string;
  stdout: string;
  stderr: string;
  submittedAt: string;
}

/**
 * A config as plain JSON before validation (the embedded demo, a sweep point, a config built by a test):
 * the runner checks it against the schema (core/experiment/validate.ts) before any field is read, and
 * hands the kinds the validated FlowloopConfig.
 */
export type ConfigObject = Record<string, unknown>;

/**
 * Version of the host ↔ worker protocol (WorkerRequest / WorkerMessage over Node's IPC channel). The `start`
 * request carries it; a worker of another version refuses the run with a clear error instead of misreading it.
 * Bump it when a message shape changes incompatibly (as webview/contract.ts PROTOCOL_VERSION for the views).
 */
export const WORKER_PROTOCOL = 1;

/** What a launcher asks a worker to run (core/executor/local.ts adds the protocol version when it sends it). */
export type WorkerStart = {
  type: 'start';
  configPath: string;
  set?: string[];
  outDir?: string;
  workspace: string;
  /** Run this config object instead of reading configPath (sweep points); configPath still anchors relative paths. */
  configObject?: ConfigObject;
  /** Extra run.json fields (a sweep point's index and assignments). */
  runInfoExtra?: Partial<RunInfo>;
  /** Parallel points for a sweep (`--jobs`). */
  jobs?: number;
};

/** Messages the extension host sends to a worker over IPC. */
export type WorkerRequest = (WorkerStart & { protocol: number }) | { type: 'cancel' };

const isObject = (m: unknown): m is Record<string, unknown> => typeof m === 'object' && m !== null && !Array.isArray(m);
const RUN_STATUSES: readonly string[] = ['running', 'finished', 'failed', 'cancelled', 'degraded'];

/** Runtime guard of a host → worker message (IPC delivers whatever the other process sent). */
export function isWorkerRequest(m: unknown): m is WorkerRequest {
  if (!isObject(m)) return false;
  if (m.type === 'cancel') return true;
  return (
    m.type === 'start' &&
    typeof m.protocol === 'number' &&
    typeof m.configPath === 'string' &&
    typeof m.workspace === 'string' &&
    (m.set === undefined || (Array.isArray(m.set) && m.set.every((s) => typeof s === 'string'))) &&
    (m.outDir === undefined || typeof m.outDir === 'string') &&
    (m.configObject === undefined || isObject(m.configObject))
  );
}

/** Runtime guard of a worker → host message. */
export function isWorkerMessage(m: unknown): m is WorkerMessage {
  if (!isObject(m)) return false;
  if (m.type === 'event') return isObject(m.event) && typeof m.event.type === 'string' && typeof m.event.runId === 'string';
  return m.type === 'done' && typeof m.status === 'string' && RUN_STATUSES.includes(m.status);
}

/** Messages a worker sends to the extension host over IPC. */
export type WorkerMessage =
  { type: 'event'; event: RunEvent } | { type: 'done'; status: RunStatus; runDir?: string; error?: string; degraded?: string[] };
