/**
 * Executor profiles: `.flowloop/executors.json` in the workspace names where runs go and with which
 * resources (docs/design.md "Executors"). A config never names a cluster; a run picks a profile by name
 * (`--profile`, the editor's setting or picker). Schema: ./executors.schema.json (also contributed to
 * VS Code for diagnostics in the editor); errors here are located `file:line:col` like config errors.
 */
import Ajv from 'ajv';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LocatedError } from '../experiment/context';
import { locateInFile } from '../experiment/validate';
import schema from './executors.schema.json';
import { errorMessage } from '../util/errors';

export type ExecutorName = 'local' | 'slurm';
export const EXECUTORS: readonly ExecutorName[] = ['local', 'slurm'];

/** One profile of executors.json (fields map one-to-one onto sbatch options; see the schema's descriptions). */
export interface ExecutorProfile {
  executor: ExecutorName;
  partition?: string;
  account?: string;
  qos?: string;
  time?: string;
  cpus?: number;
  mem?: string;
  gpus?: number | string;
  gres?: string;
  /** Extra `#SBATCH` option lines. */
  sbatch?: string[];
  /** Shell lines run in the job before Flowloop (module load, venv). */
  setup?: string[];
  /** Node.js on the compute nodes (default process.execPath). */
  node?: string;
}

export interface ExecutorsFile {
  default?: string;
  profiles: Record<string, ExecutorProfile>;
}

/** `<workspace>/.flowloop/executors.json`. */
export function profilesPath(workspace: string): string {
  return join(resolve(workspace), '.flowloop', 'executors.json');
}

let compiled: ReturnType<Ajv['compile']> | undefined;

/** Read and validate executors.json; undefined when the file does not exist. Throws a LocatedError otherwise. */
export function readProfiles(workspace: string): ExecutorsFile | undefined {
  const file = profilesPath(workspace);
  if (!existsSync(file)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new LocatedError(`not valid JSON: ${errorMessage(e)}`, file);
  }
  compiled ??= new Ajv({ allErrors: true, strict: false, allowUnionTypes: true }).compile(schema);
  if (!compiled(data)) {
    const e = compiled.errors![0];
    const extra = e.keyword === 'additionalProperties' ? ` "${(e.params as { additionalProperty?: string }).additionalProperty}"` : '';
    const at = locateInFile(file, e.instancePath);
    throw new LocatedError(`${e.instancePath || '/'} ${e.message}${extra}`, `${file}:${at.line}:${at.col}`);
  }
  return data as ExecutorsFile;
}

/**
 * The profile a run uses: `name` if given, else the file's `default`. With no name and no file, Slurm
 * runs with the cluster's defaults (an empty profile) — sbatch then says what the cluster requires.
 */
export function resolveProfile(workspace: string, executor: ExecutorName, name?: string): { name: string; profile: ExecutorProfile } {
  const file = readProfiles(workspace);
  const fallback = file?.default && file.profiles[file.default]?.executor === executor ? file.default : undefined;
  const wanted = name ?? fallback;
  if (!wanted) return { name: executor, profile: { executor } };
  const profile = file?.profiles[wanted];
  if (!profile) {
    const known = file ? Object.keys(file.profiles) : [];
    throw new LocatedError(
      `no executor profile "${wanted}"${known.length ? ` (profiles: ${known.join(', ')})` : ''}`,
      profilesPath(workspace),
    );
  }
  if (profile.executor !== executor)
    throw new LocatedError(`profile "${wanted}" is for the ${profile.executor} executor, not ${executor}`, profilesPath(workspace));
  return { name: wanted, profile };
}
