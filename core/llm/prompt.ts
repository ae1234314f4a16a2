/**
 * Text prompts of the paper's LLM policy, built as the released Flower code builds them (docs/methods.md §A6b):
 * - part 1, the instruction: "Below is an instruction … request. \n\n### Instruction:\nGiven a list of {C}
 *   the user recently enjoy, please write a new {C} that the user may bought\n\n";
 * - part 2, the input: "### User Input: \nThe user has enjoyed the following {C}s before: {t1}, …, {tn}\n\n### Response: \n";
 * - each part tokenised SEPARATELY (no BOS: Qwen has none) and the ids concatenated;
 * - the completion: tokens(title + "\n") + EOS.
 * The prompt lives outside the title prefix tree; sequences longer than the cutoff keep their LAST
 * `cutoff` tokens (left truncation, the released `tokens[-max_len:]`).
 * The template is user-editable (config); placeholders: {category}, {history}.
 */
import type { Tokenizer } from '../tokenize';

export interface PromptTemplate {
  /** Part 1, tokenised on its own. */
  instruction: string;
  /** Part 2, tokenised on its own; ends where the title begins. */
  input: string;
  /** Between history titles. */
  historySeparator: string;
}

/** The released template (docs/methods.md §A6b; note the trailing spaces after "request.", "Input:" and "Response:"). */
export const RELEASED_PROMPT: PromptTemplate = {
  instruction:
    'Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request. \n\n### Instruction:\nGiven a list of {category} the user recently enjoy, please write a new {category} that the user may bought\n\n',
  input: '### User Input: \nThe user has enjoyed the following {category}s before: {history}\n\n### Response: \n',
  historySeparator: ', ',
};

/** The released category words per Amazon dataset (its category map; hence "musicss" and "movies and TVs", sic). */
export const RELEASED_CATEGORIES: Record<string, string> = {
  CDs_and_Vinyl: 'musics',
  Video_Games: 'video games',
  Movies_and_TV: 'movies and TV',
  Steam: 'games',
  Musical_Instruments: 'musical instruments',
  GoodReads: 'books',
  Movielens: 'movies',
  Books: 'books',
};

/** Category word of a dataset folder name (e.g. `.../Movies_and_TV` -> "movies and TV"). */
export function categoryOf(datasetName: string): string {
  const base = datasetName.replace(/\/+$/, '').split('/').pop() ?? datasetName;
  const c = RELEASED_CATEGORIES[base];
  if (!c)
    throw new Error(
      `no category word for dataset "${base}" (known: ${Object.keys(RELEASED_CATEGORIES).join(', ')}); give the prompt template's category explicitly`,
    );
  return c;
}

function fill(s: string, vars: Record<string, string>): string {
  return s.replace(/\{(category|history)\}/g, (_, k: string) => vars[k]);
}

/**
 * The template and category of a config's `policy.prompt` (fields left out = the released template; the
 * category defaults to the released word of the dataset folder). Errors name `where`.
 */
export function promptSettings(
  cfg: (Partial<PromptTemplate> & { category?: string }) | undefined,
  datasetDir: string,
  where = 'policy.prompt',
): { template: PromptTemplate; category: string } {
  const { category, ...rest } = cfg ?? {};
  let template: PromptTemplate;
  try {
    template = checkTemplate(rest);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`, { cause: e });
  }
  if (category !== undefined) return { template, category };
  try {
    return { template, category: categoryOf(datasetDir) };
  } catch (e) {
    throw new Error(`${where}.category: ${(e as Error).message}`, { cause: e });
  }
}

/** Check a user template: both parts are strings and only known placeholders appear. */
export function checkTemplate(t: Partial<PromptTemplate>): PromptTemplate {
  const out = { ...RELEASED_PROMPT, ...t };
  for (const k of ['instruction', 'input', 'historySeparator'] as const) {
    if (typeof out[k] !== 'string') throw new Error(`prompt template: "${k}" must be a string`);
    const bad = out[k].match(/\{(?!category\}|history\})[A-Za-z_]+\}/);
    if (bad) throw new Error(`prompt template: "${k}" has unknown placeholder ${bad[0]} (known: {category}, {history})`);
  }
  return out;
}

/** The prompt's token ids for a user history (titles oldest first): parts tokenised separately, concatenated. */
export function promptIds(tok: Tokenizer, history: string[], category: string, template: PromptTemplate = RELEASED_PROMPT): number[] {
  const vars = { category, history: history.join(template.historySeparator) };
  return [...tok.encode(fill(template.instruction, vars)), ...tok.encode(fill(template.input, vars))];
}

/** The prompt text (for display and the `lm score` text rows: part 1 + part 2). */
export function promptText(history: string[], category: string, template: PromptTemplate = RELEASED_PROMPT): string[] {
  const vars = { category, history: history.join(template.historySeparator) };
  return [fill(template.instruction, vars), fill(template.input, vars)];
}

/** The released SFT target: tokens(title + "\n") followed by EOS. */
export function completionIds(tok: Tokenizer, title: string): number[] {
  return [...tok.encode(title + '\n'), tok.eosId];
}

/**
 * Left truncation at `cutoff` (the released `tokens[-max_len:]`): keep the last `cutoff` ids of
 * prompt + completion; returns the kept prompt part and the completion (the completion is never cut
 * unless it alone exceeds the cutoff, which is an error).
 */
export function truncateLeft(prompt: number[], completion: number[], cutoff: number): { prompt: number[]; completion: number[] } {
  if (completion.length > cutoff) throw new Error(`completion of ${completion.length} tokens exceeds the cutoff ${cutoff}`);
  const keep = cutoff - completion.length;
  return { prompt: prompt.length > keep ? prompt.slice(prompt.length - keep) : prompt, completion };
}
