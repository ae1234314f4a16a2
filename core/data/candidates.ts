/**
 * AFL evaluation inputs (docs/methods.md §B3/B4): the reference's 20-candidate lists, prior CSVs
 * (`id,generate,real`), LastFM user-simulation samples and the released prompt templates.
 */
import { readCsv } from './csv';
import {
  LocatedError,
  asObject,
  intArrayField,
  intField,
  numArrayField,
  readJsonFile,
  readJsonl,
  strArrayField,
  strField,
  where,
} from './lines';

/** One line of `test_candidates.jsonl` (docs/methods.md §B3). */
export interface CandidateRow {
  /** User / row index (0-based, = row of test.jsonl). */
  id: number;
  /** History, unpadded, oldest first (`seq_unpad`). */
  seq: number[];
  /** History as released (padded to 10). */
  seqPadded: number[];
  seqNames: string[];
  next: number;
  /** Name of `next` (`correct_answer`). */
  correctAnswer: string;
  /** The 20 candidate ids (true next item among them). */
  cans: number[];
  cansNames: string[];
  /** LastFM only: PyTorch SASRec eval-mode logits aligned with `cans`. */
  sasrecEvalScores?: number[];
  /** LastFM only: SASRec's top-1 candidate name. */
  sasrecEvalTop1?: string;
  /** LastFM only: SASRec's top quarter (5 of 20) candidate names, best first. */
  sasrecEvalFocusTopQuarter?: string[];
  /** LastFM only: the released prior (base model answer). */
  priorAnswer?: string;
}

/** The optional LastFM fields both files carry: SASRec's top quarter (always set, undefined when absent) and the released prior. */
function addFocusAndPrior(row: Pick<CandidateRow, 'sasrecEvalFocusTopQuarter' | 'priorAnswer'>, o: Record<string, unknown>): void {
  row.sasrecEvalFocusTopQuarter = 'sasrec_eval_focus_top_quarter' in o ? strArrayField(o, 'sasrec_eval_focus_top_quarter') : undefined;
  if ('prior_answer' in o) row.priorAnswer = strField(o, 'prior_answer');
}

function checkSameLength(a: unknown[], b: unknown[], what: string): void {
  if (a.length !== b.length) throw new Error(`${what}: lengths differ (${a.length} vs ${b.length})`);
}

/** Shared candidate fields; checks that `next` is a candidate and names line up. */
function candidateFields(o: Record<string, unknown>) {
  const seqPadded = intArrayField(o, 'seq');
  const seq = 'seq_unpad' in o ? intArrayField(o, 'seq_unpad') : seqPadded.slice(0, intField(o, 'len_seq'));
  const seqNames = strArrayField(o, 'seq_names');
  checkSameLength(seq, seqNames, 'seq_unpad/seq_names');
  const next = intField(o, 'next');
  const correctAnswer = strField(o, 'correct_answer');
  const cans = intArrayField(o, 'cans');
  const cansNames = strArrayField(o, 'cans_names');
  checkSameLength(cans, cansNames, 'cans/cans_names');
  const k = cans.indexOf(next);
  if (k < 0) throw new Error(`next item ${next} is not among the candidates`);
  if (cansNames[k] !== correctAnswer)
    throw new Error(`correct_answer ${JSON.stringify(correctAnswer)} differs from the candidate name ${JSON.stringify(cansNames[k])}`);
  return { seq, seqPadded, seqNames, next, correctAnswer, cans, cansNames };
}

/** Reads `<dataset>/test_candidates.jsonl`; a bad row is a LocatedError at `file:line`. */
export function readCandidates(file: string): CandidateRow[] {
  return readJsonl(file, (v) => {
    const o = asObject(v);
    const row: CandidateRow = { id: intField(o, 'id'), ...candidateFields(o) };
    if ('sasrec_eval_scores' in o) {
      row.sasrecEvalScores = numArrayField(o, 'sasrec_eval_scores');
      checkSameLength(row.cans, row.sasrecEvalScores, 'cans/sasrec_eval_scores');
    }
    if ('sasrec_eval_top1' in o) row.sasrecEvalTop1 = strField(o, 'sasrec_eval_top1');
    addFocusAndPrior(row, o);
    return row;
  });
}

export interface PriorRow {
  id: number;
  /** The base model's top-1 candidate name. */
  generate: string;
  /** The true next item's name. */
  real: string;
}

/**
 * Reads a prior CSV (`id,generate,real`, RFC 4180 quoting: names may contain commas, e.g.
 * "Woe, Is Me"). Errors are located at the record's first line.
 */
export function readPriorCsv(file: string): PriorRow[] {
  const { rows } = readCsv(file, ['id', 'generate', 'real']);
  return rows.map(({ fields, line }) => {
    const id = Number(fields[0]);
    if (fields[0].trim() === '' || !Number.isInteger(id)) throw new LocatedError(`bad id ${JSON.stringify(fields[0])}`, where(file, line));
    return { id, generate: fields[1], real: fields[2] };
  });
}

/** One line of `lastfm/user_sim/samples_<ratio>.jsonl` (docs/methods.md §B4). */
export interface UserSimSample {
  id: number;
  userId: number;
  /** The loop's history, unpadded (first `len_seq` of `seq`). */
  seq: number[];
  seqNames: string[];
  next: number;
  correctAnswer: string;
  cans: number[];
  cansNames: string[];
  sasrecEvalFocusTopQuarter?: string[];
  priorAnswer?: string;
  /** The user's initial items (`init_list`) and their padded form. */
  initList: number[];
  initPad: number[];
  /** Real future items of the user. */
  predList: number[];
  /** The 20 items the simulated user judges, with labels 1 = the user's real future item. */
  evalCans: number[];
  evalCansNames: string[];
  label: number[];
  /** SASRec raw logits of `evalCans` (shown to the judge as "score"). */
  sasrecEvalScoresEvalCans: number[];
}

/** Reads a user-simulation samples file; checks the eval lists line up and labels are 0/1. */
export function readUserSimSamples(file: string): UserSimSample[] {
  return readJsonl(file, (v) => {
    const o = asObject(v);
    const { seqPadded: _padded, ...base } = candidateFields(o);
    const initList = intArrayField(o, 'init_list');
    if ('len_init' in o && intField(o, 'len_init') !== initList.length)
      throw new Error(`len_init ${o.len_init} but init_list has ${initList.length}`);
    const evalCans = intArrayField(o, 'eval_cans');
    const evalCansNames = strArrayField(o, 'eval_cans_names');
    const label = intArrayField(o, 'label');
    const sasrecEvalScoresEvalCans = numArrayField(o, 'sasrec_eval_scores_eval_cans');
    checkSameLength(evalCans, evalCansNames, 'eval_cans/eval_cans_names');
    checkSameLength(evalCans, label, 'eval_cans/label');
    checkSameLength(evalCans, sasrecEvalScoresEvalCans, 'eval_cans/sasrec_eval_scores_eval_cans');
    if (label.some((x) => x !== 0 && x !== 1)) throw new Error('labels must be 0 or 1');
    const s: UserSimSample = {
      id: intField(o, 'id'),
      userId: intField(o, 'user_id'),
      ...base,
      initList,
      initPad: intArrayField(o, 'init_pad'),
      predList: intArrayField(o, 'pred_list'),
      evalCans,
      evalCansNames,
      label,
      sasrecEvalScoresEvalCans,
    };
    addFocusAndPrior(s, o);
    return s;
  });
}

/** One line of `lastfm/user_sim/test_users.jsonl`. */
export interface UserSimUser {
  id: number;
  userId: number;
  artistList: number[];
  fullList: number[];
}

export function readUserSimUsers(file: string): UserSimUser[] {
  return readJsonl(file, (v) => {
    const o = asObject(v);
    return {
      id: intField(o, 'id'),
      userId: intField(o, 'user_id'),
      artistList: intArrayField(o, 'artist_list'),
      fullList: intArrayField(o, 'full_list'),
    };
  });
}

/** `lastfm/prompts_released.json`: byte-exact AFL templates (`{}` = positional slot). */
export interface PromptsReleased {
  source: string;
  note: string;
  /** Templates of the recommendation loop, by the released constant's name. */
  loop: Record<string, string>;
  /** Templates of the user-simulation evaluation. */
  userSimulation: Record<string, string>;
  /** Argument descriptions per `<section>.<name>` (section = loop | user_simulation). */
  arguments: Record<string, string[]>;
}

/** Number of `{}` slots in a template. */
export function slotCount(template: string): number {
  return template.split('{}').length - 1;
}

/**
 * Reads `prompts_released.json`; checks every template is a string and, where `arguments` lists a
 * template, that it has exactly that many `{}` slots (error located at the JSON path).
 */
export function readPromptsReleased(file: string): PromptsReleased {
  const o = asObjectAt(readJsonFile(file), file, '$');
  const section = (key: string): Record<string, string> => {
    const s = asObjectAt(o[key], file, `$.${key}`);
    for (const [k, v] of Object.entries(s)) {
      if (typeof v !== 'string') throw new LocatedError(`template must be a string`, file, `$.${key}.${k}`);
    }
    return s as Record<string, string>;
  };
  const loop = section('loop');
  const userSimulation = section('user_simulation');
  const args = asObjectAt(o.arguments ?? {}, file, '$.arguments');
  const argumentsOut: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(args)) {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
      throw new LocatedError('must be an array of strings', file, `$.arguments.${k}`);
    argumentsOut[k] = v as string[];
    const [sec, name] = k.split('.', 2);
    const tpl = sec === 'loop' ? loop[name] : sec === 'user_simulation' ? userSimulation[name] : undefined;
    if (tpl === undefined) throw new LocatedError(`arguments name an unknown template ${k}`, file, `$.arguments.${k}`);
    if (slotCount(tpl) !== v.length)
      throw new LocatedError(`template ${k} has ${slotCount(tpl)} slots but ${v.length} arguments`, file, `$.arguments.${k}`);
  }
  return {
    source: typeof o.source === 'string' ? o.source : '',
    note: typeof o.note === 'string' ? o.note : '',
    loop,
    userSimulation,
    arguments: argumentsOut,
  };
}

function asObjectAt(v: unknown, file: string, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new LocatedError('expected a JSON object', file, path);
  return v as Record<string, unknown>;
}
