/**
 * The one table of `flowloop` commands and their flags. Usage text (`flowloop --help`,
 * `flowloop <command> --help`) is generated from it, and every command parses its argv with
 * `parseCommandArgs(name, argv)`, which takes the accepted flags from the same entry — so the help
 * cannot omit a flag a command accepts. Kept free of heavy imports: `--help` must be instant.
 */
import { parseArgs, UsageError } from './args';

export interface FlagSpec {
  type: 'string' | 'boolean' | 'list';
  /** Placeholder of the value in the usage line, e.g. `<dir>`. */
  value?: string;
  help: string;
  required?: boolean;
}

export interface CommandSpec {
  name: string;
  /** Positional arguments as shown in the usage line. */
  args?: string;
  summary: string;
  flags: Record<string, FlagSpec>;
}

/** A flag with a value, `--name <value>`. */
function valueFlag(value: string, help: string): FlagSpec {
  return { type: 'string', value, help };
}
/** A flag with a value that the command cannot do without. */
function requiredFlag(value: string, help: string): FlagSpec {
  return { type: 'string', value, help, required: true };
}
/** An on/off flag, `--name`. */
function switchFlag(help: string): FlagSpec {
  return { type: 'boolean', help };
}

const OUT_RUNS = valueFlag('<dir>', 'folder that receives the run folder (default <workspace>/.flowloop/runs)');
const WORKSPACE = valueFlag('<workspace>', 'workspace folder whose .flowloop/runs is used (default: the current folder)');
const SET: FlagSpec = { type: 'list', value: 'path=value', help: 'override a config field (JSON value or plain string); repeatable' };
const ENGINE = valueFlag('tfjs|onnx', 'inference engine (default: by the model folder)');
const EXECUTOR = valueFlag(
  'local|slurm',
  'where runs go: this machine (default) or Slurm jobs (a sweep or a baseline set as one job array)',
);
const PROFILE = valueFlag(
  '<name>',
  'executor profile of .flowloop/executors.json (partition, time, cpus, gres, setup…; default: its "default")',
);
const DETACH = switchFlag(
  'slurm: return once submitted; the jobs go on (run the same command again to follow them and resubmit what failed)',
);
const DEVICE = valueFlag('auto|cpu|wasm|gpu', 'where the model runs (default auto)');
/** The model and candidates flags `score` and `prior` share (core/cli/score.ts candidatesCommand reads them). */
const CANDIDATES_FLAGS: Record<string, FlagSpec> = {
  model: requiredFlag('<dir>', 'model folder (weights or ONNX)'),
  candidates: requiredFlag('<candidates.jsonl>', 'users and their candidates'),
};

export const COMMAND_SPECS: CommandSpec[] = [
  {
    name: 'demo',
    summary: 'the embedded demo: Flower vs SFT fitting 100 movie titles (no data needed)',
    flags: { out: OUT_RUNS, set: SET },
  },
  {
    name: 'run',
    args: '<config>',
    summary: 'run an experiment (or a sweep) into a run folder',
    flags: {
      set: SET,
      out: OUT_RUNS,
      dir: WORKSPACE,
      jobs: valueFlag('N', 'sweep points run in parallel worker processes (default 1)'),
      executor: EXECUTOR,
      profile: PROFILE,
      detach: DETACH,
      'run-dir': valueFlag('<dir>', 'run into this existing folder (what a Slurm job runs; made at submission)'),
      point: valueFlag('N', "with --run-dir: run only point N of the config's sweep (a Slurm array task)"),
    },
  },
  {
    name: 'baselines',
    args: '<config>',
    summary: "run the baselines of the config's kind (each an ordinary run), then a comparison table",
    flags: {
      only: valueFlag('name,name', 'run only these baselines (default: all of the kind)'),
      'dry-run': switchFlag('list the baselines and their overrides, run nothing'),
      jobs: valueFlag('N', 'baselines run in parallel worker processes (default 1: one after another)'),
      repeat: valueFlag('N', "run every baseline with N seeds (the config's seed, seed+1, …) and report mean ± std per row (default 1)"),
      set: SET,
      out: OUT_RUNS,
      dir: WORKSPACE,
      executor: EXECUTOR,
      profile: PROFILE,
    },
  },
  {
    name: 'afl',
    args: 'preview <config>',
    summary: "a user's first-round AFL prompts (rec agent and user agent), rendered with no LLM call",
    flags: { user: valueFlag('N', "index of the user among the config's users (default 0)"), set: SET },
  },
  {
    name: 'doctor',
    summary: 'what this installation runs on (backend, kernels, ONNX, GPU, data, LLM endpoint), each with what to do if missing',
    flags: {
      json: switchFlag('the checks as JSON'),
      dir: WORKSPACE,
      timeout: valueFlag('ms', 'bound of the LLM endpoint probe (default 3000)'),
      model: valueFlag('<folder>', 'also check a Hugging Face model folder: which backend it would run on and why, and whether it fits'),
      device: DEVICE,
    },
  },
  { name: 'validate', args: '<config>...', summary: 'check configs; located errors; exit 2 if any is invalid', flags: {} },
  { name: 'runs', summary: 'list runs (newest first)', flags: { dir: WORKSPACE } },
  { name: 'show', args: '<run folder | run id>', summary: "a run's summary and metrics", flags: { dir: WORKSPACE } },
  {
    name: 'trie',
    args: 'export',
    summary: 'the title prefix tree with log R_p, in the reference format',
    flags: {
      counts: requiredFlag('<title_counts.json>', 'title → count (or reward) file'),
      tokenizer: requiredFlag('<qwen2.5|char|word>', 'tokenizer of the titles'),
      out: requiredFlag('<file.json>', 'output file'),
      'title-end': valueFlag('separate|joint', 'title terminal: a separate "\\n" token (default) or joined with end-of-text'),
    },
  },
  {
    name: 'metrics',
    summary: "HR/NDCG@K, DGU, MGU, entropy, TTR, distinct titles of any tool's top-10 lists",
    flags: {
      recommendations: requiredFlag('<file.jsonl>', 'one {"row": n, "titles": [...]} per line'),
      dataset: requiredFlag('<amazon dataset dir>', 'the dataset the rows refer to'),
      split: valueFlag('test|valid', 'split the rows index (default test)'),
    },
  },
  {
    name: 'score',
    summary: "a sequential model's scores for each user's candidates",
    flags: {
      ...CANDIDATES_FLAGS,
      engine: ENGINE,
      device: DEVICE,
      out: requiredFlag('<file.jsonl>', 'output file'),
    },
  },
  {
    name: 'export-onnx',
    args: '<SASRec weights folder | Flower checkpoint>',
    summary: 'write our own model as an ONNX graph (checked to load in onnxruntime-node)',
    flags: { out: requiredFlag('<model.onnx>', 'output file') },
  },
  {
    name: 'lm',
    args: 'score|info',
    summary: 'a Hugging Face causal LM folder: completion log-probabilities (score) or what it is and where it would run (info)',
    flags: {
      model: requiredFlag(
        '<folder>',
        'local Hugging Face model folder (config.json, *.safetensors, tokenizer.json, tokenizer_config.json)',
      ),
      in: valueFlag(
        '<rows.jsonl>',
        'score: one row per line: promptIds + completionIds, prompt + completion (text), or history + title (the released Flower prompt)',
      ),
      device: DEVICE,
      batch: valueFlag('N', 'score: rows per forward pass (default 8)'),
      cutoff: valueFlag('N', 'score: keep the last N tokens of prompt + completion (left truncation, as the released code)'),
      category: valueFlag('<word>', 'score: category word of history rows without one (e.g. "movies and TV")'),
      lora: valueFlag('<adapter folder>', 'score: add a PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors) to the model'),
      onnx: valueFlag(
        '<model.onnx>',
        'score: run the ONNX export of the model (input_ids, attention_mask -> logits) in onnxruntime-node instead',
      ),
    },
  },
  {
    name: 'prior',
    summary: 'base-model priors (top-1 among candidates) in the reference CSV format',
    flags: {
      ...CANDIDATES_FLAGS,
      catalogue: valueFlag('<id2name.txt>', 'item names, when the candidates file has none'),
      engine: ENGINE,
      device: DEVICE,
      out: requiredFlag('<prior.csv>', 'output file'),
    },
  },
];

export function commandSpec(name: string): CommandSpec {
  const spec = COMMAND_SPECS.find((c) => c.name === name);
  if (!spec) throw new Error(`no command spec "${name}"`);
  return spec;
}

/** Parse a command's argv with exactly the flags its table entry lists (plus --help / -h). */
export function parseCommandArgs(name: string, argv: string[]) {
  const spec = commandSpec(name);
  const types: Record<string, 'string' | 'boolean'> = { help: 'boolean' };
  const lists: string[] = [];
  for (const [flag, f] of Object.entries(spec.flags)) {
    if (f.type === 'list') lists.push(flag);
    else types[flag] = f.type;
  }
  return parseArgs(
    argv.map((a) => (a === '-h' ? '--help' : a)),
    types,
    lists,
  );
}

/** `--name` with the value's placeholder, e.g. `--out <dir>`. */
function flagHead(name: string, f: FlagSpec): string {
  return `--${name}${f.type === 'boolean' ? '' : ` ${f.value ?? '<value>'}`}`;
}

function flagSynopsis(name: string, f: FlagSpec): string {
  const s = `${flagHead(name, f)}${f.type === 'list' ? ' ...' : ''}`;
  return f.required ? s : `[${s}]`;
}

/** `flowloop <name> <args> <flags>` on one line. */
export function commandSynopsis(spec: CommandSpec): string {
  return ['flowloop', spec.name, spec.args, ...Object.entries(spec.flags).map(([n, f]) => flagSynopsis(n, f))].filter(Boolean).join(' ');
}

/** `flowloop <command> --help`: the synopsis, the summary and one line per flag. */
export function commandUsage(name: string): string {
  const spec = commandSpec(name);
  const flags = Object.entries(spec.flags);
  const width = Math.max(0, ...flags.map(([n, f]) => flagHead(n, f).length));
  return [
    `usage: ${commandSynopsis(spec)}`,
    `  ${spec.summary}`,
    ...(flags.length
      ? ['', ...flags.map(([n, f]) => `  ${flagHead(n, f).padEnd(width)}  ${f.help}${f.required ? ' (required)' : ''}`)]
      : []),
  ].join('\n');
}

/** `flowloop --help`: every command's synopsis (all its flags) and summary. */
export function overallUsage(): string {
  return [
    'flowloop — LLM-recommender experiments (Flower, AFL) from the command line',
    '',
    ...COMMAND_SPECS.flatMap((c) => [`  ${commandSynopsis(c)}`, `      ${c.summary}`]),
    '',
    'flowloop <command> --help describes each flag; flowloop --version prints the version. Run folders go to <workspace>/.flowloop/runs',
    '(workspace = current folder, or --dir) unless --out is given.',
  ].join('\n');
}

export { UsageError };
