/**
 * Generated from core/experiment/schema/*.json by esbuild.js — do not edit (run `node esbuild.js`).
 *
 * The config as a kind runner sees it (RunContext.config): validated, with the schema's defaults filled
 * in by ajv (core/experiment/validate.ts, useDefaults). A field that has a `default` in the schema is
 * therefore required here, although a *.flowloop.json file may leave it out. Dataset-dependent defaults
 * that the schema cannot express (flower `theta`, `personalization.mode`; sequential `batchSize`,
 * `weightDecay`) stay optional: the kinds resolve them at run start.
 *
 * One generated file, repeats included: the types mirror the schema field for field, each field with the schema's
 * description (what the editor's hover shows), so where the schema spells a shape out twice (AFL's `llm.rec` and
 * `llm.user`, each agent's override of the shared `llm` settings) the types repeat it as well. Change the schema
 * (core/experiment/schema/*.json) and rebuild; a test (test/core/configTypes.test.ts) fails when this file is stale.
 */

/**
 * A Flowloop experiment (*.flowloop.json). Press ▶ Run in the CodeLens or run `npx flowloop run <file>`.
 */
export type FlowloopConfig = FlowerConfig | AflConfig | SequentialConfig;

/**
 * Flower (docs/methods.md Part A): a generative recommender that writes the next item's title token by token, constrained to the prefix tree of catalogue titles, trained with plain SFT (BIGRec), IFairLRS (SFT with per-sample popularity-group weights) or Flower (sub-trajectory balance over the tree's flows + θ·SFT). `recommend` mode reads an Amazon dataset folder and scores beam-search top-10 lists (HR/NDCG@K, DGU, MGU, entropy, TTR); `distribution` mode fits a {title: count} distribution with no history (RQ1) and reports KL/JS/coverage with a plot. The policy is a small decoder-only transformer trained from scratch whose prefix is the user's history as item-id embeddings.
 */
export interface FlowerConfig {
  /**
   * Optional link to the Flowloop JSON Schema (VS Code applies it to *.flowloop.json files on its own).
   */
  $schema?: string;
  /**
   * What the experiment runs: `flower` (generative recommender tuned with GFlowNet flows over the title prefix tree), `afl` (agentic feedback loop between a recommendation agent and a user agent), `sequential` (SASRec / GRU4Rec / Caser).
   */
  kind: 'flower';
  /**
   * Short run name used in run folder names (letters, digits, '.', '_', '-'). Defaults to the config file name.
   */
  name?: string;
  /**
   * Free text shown in the experiment tree.
   */
  description?: string;
  /**
   * Seed of every random choice (init, sampling, negatives, shuffles). The same seed repeats a run.
   */
  seed: number;
  /**
   * Tensor backend. `auto`: tfjs-node-gpu when installed and a GPU is visible, then tfjs-node, then WebAssembly with Flowloop's kernels, then plain JavaScript. `gpu` fails clearly when no GPU backend can start.
   */
  device: 'auto' | 'gpu' | 'cpu' | 'wasm';
  sweep?: SweepSpec;
  /**
   * `recommend`: next-item recommendation on an Amazon dataset folder (`dataset`). `distribution`: RQ1 distribution fitting of the titles in `titles`, no history.
   */
  mode: 'recommend' | 'distribution';
  /**
   * recommend mode: Amazon dataset folder (items.tsv, train.jsonl, valid.csv, test.csv, title_counts.json, groups8_titles.json), relative to this config file.
   */
  dataset?: string;
  /**
   * distribution mode: a {title: count} JSON file (e.g. select_100_Movies.json), relative to this config file. Its counts are the item rewards R(i).
   */
  titles?: string;
  /**
   * recommend mode: optional {title: reward} JSON file replacing the default item reward (docs/methods.md §A2: the title's count in the training histories, `title_counts.json`).
   */
  rewards?: string;
  /**
   * treeTitles "catalogue": reward given to catalogue titles that have none in the reward file (so that they stay reachable; a zero reward would make log R_p = -inf). A reward of 0 or less IN a reward file is an error (file:line:col and the title), never replaced by this.
   */
  minReward: number;
  /**
   * recommend mode: which titles the one prefix tree (training flows AND constrained decoding) holds. `catalogue` (default): every catalogue title, those without a reward get `minReward` — the reference decodes over an eval tree of every catalogue title, and a title without a history count is still a valid target (13 CDs, 55 Video Games, 28 Movies titles; 22 / 429 / 132 test targets), so the sound single tree must reach them. `counted`: only the titles of the reward file (`title_counts.json`), i.e. exactly the reference's TRAINING tree (`reference_trie_qwen.json`, docs/methods.md §A2/A3: R(i) = history count, P* = R/ΣR with no filled-in titles); titles without a count can then never be recommended.
   */
  treeTitles: 'catalogue' | 'counted';
  /**
   * recommend mode (docs/methods.md §A10): remove junk titles (an HTML fragment beginning `<span`; CDs has one, its 2nd most popular title) from the catalogue, rewards, tree and popularity groups; training rows with a junk target are dropped, junk items are cut out of every history, valid/test rows with a junk target are not decoded or scored. Default false: the reference keeps it.
   */
  filterJunkTitles: boolean;
  /**
   * Title tokenizer: `qwen2.5` (the reference's Qwen2/2.5 ids, bundled, offline), or `char` / `word` built from the titles. The policy's vocabulary is the tokens that occur in the tree plus the terminal.
   */
  tokenizer: 'qwen2.5' | 'char' | 'word';
  /**
   * Title-end tokenization (docs/methods.md §A4 fix): `separate` = tokens(title) + "\n" (the reference's training tree), `joint` = tokens(title + "\n") + EOS (the reference's SFT/eval tree). One tokenization is used for training and decoding.
   */
  titleEnd: 'separate' | 'joint';
  /**
   * The decoder-only transformer policy (docs/methods.md §A6): history item-id embeddings, BOS, title tokens.
   */
  policy: {
    /**
     * Model width (must be a multiple of `heads`).
     */
    dModel: number;
    /**
     * Transformer blocks.
     */
    layers: number;
    /**
     * Attention heads per block.
     */
    heads: number;
    /**
     * Feed-forward hidden width.
     */
    ffn: number;
    /**
     * Dropout during training (embeddings, attention output, feed-forward output).
     */
    dropout: number;
    /**
     * History items kept (the last ones); the reference uses ≤ 10. Ignored in distribution mode.
     */
    maxHistory: number;
    /**
     * A local Hugging Face causal-LM folder (config.json, *.safetensors, tokenizer.json; Qwen2 or Llama architecture), relative to this config file: the policy is then this pretrained model reading the history as text (docs/methods.md §A6b) instead of the from-scratch item-id transformer, and the other policy fields except `dropout` and `lora` are ignored. Never downloaded: a missing or incomplete folder is a located error when the run starts (`validate` does not require it, so a config can name a model that lives only on the GPU machine).
     */
    model?: string;
    /**
     * With `model`: token budget of prompt + title (the released cutoff_len 512): the prompt keeps its LAST tokens so that the longest title of the tree still fits (left truncation, docs/methods.md §A6b).
     */
    cutoff: number;
    /**
     * With `model`: train LoRA adapters (Hu et al. 2021) on its linear layers instead of all weights — W x + (alpha/r)·B A dropout(x), base weights frozen, A random and B zero at the start (as PEFT) — saved as a PEFT adapter folder (adapter_config.json + adapter_model.safetensors) that `PeftModel.from_pretrained` loads. Absent = full fine-tuning (the paper's setting), saved as a Hugging Face model folder.
     */
    lora?: {
      /**
       * Adapter rank r.
       */
      r: number;
      /**
       * Scaling numerator: the update is (alpha/r)·B A.
       */
      alpha: number;
      /**
       * Dropout on the adapter's input during training (PEFT's lora_dropout).
       */
      dropout: number;
      /**
       * Linear layers that get adapters, matched as PEFT matches target_modules: a module path equal to an entry or ending in '.' + entry (q_proj, v_proj, mlp.down_proj, ...).
       *
       * @minItems 1
       */
      targetModules: string[];
    };
    /**
     * With `model`: the text prompt the LLM reads (docs/methods.md §A6b). Each field left out keeps the released Flower template: `instruction` = "Below is an instruction that describes a task, paired with an input that provides further context. Write a response that appropriately completes the request. \n\n### Instruction:\nGiven a list of {category} the user recently enjoy, please write a new {category} that the user may bought\n\n", `input` = "### User Input: \nThe user has enjoyed the following {category}s before: {history}\n\n### Response: \n", titles joined with ", ". The two parts are tokenised separately and concatenated (no BOS); the target is the title + "\n" + EOS.
     */
    prompt?: {
      /**
       * Part 1 (tokenised on its own). Placeholders: {category}, {history}.
       */
      instruction?: string;
      /**
       * Part 2 (tokenised on its own), ending where the title begins. Placeholders: {category}, {history}.
       */
      input?: string;
      /**
       * Between history titles (released: ", ").
       */
      historySeparator?: string;
      /**
       * The {category} word. Default: the released word of the dataset folder (CDs_and_Vinyl "musics", Video_Games "video games", Movies_and_TV "movies and TV").
       */
      category?: string;
    };
  };
  /**
   * `sft`: token-level cross-entropy on the target titles (BIGRec). `flower`: L = θ·L_SFT + (1−θ)·L_GFN, L_GFN = modified sub-trajectory balance over all state pairs of a title sampled from the policy (docs/methods.md §A4). `ifairlrs`: SFT with per-sample weights = group share in history interactions / group share among training targets (docs/methods.md §A8).
   */
  objective: 'sft' | 'flower' | 'ifairlrs';
  /**
   * distribution mode: train one fresh policy per listed objective (same seed and data) and report/plot them side by side (the demo uses ["sft", "flower"]). Overrides `objective`.
   */
  compare?: ('sft' | 'flower' | 'ifairlrs')[];
  /**
   * θ in L = θ·L_SFT + (1−θ)·L_GFN (flower objective); 0 = pure GFN (RQ1). Default (docs/methods.md §A4), resolved at run start from the `dataset` folder name and written to the run's config.json: 0.9995 for Video Games, 0.995 for CDs, Movies and anything else (distribution mode included).
   */
  theta?: number;
  /**
   * Personalised GFN reward from an auxiliary recommender (docs/methods.md §A5): p_u = softmax of its item logits for the training row, p_ui taken for the sampled item; touches only the GFN term.
   */
  personalization: {
    /**
     * `div`: token log-rewards divided by s = (p_ui − mean)/(max − min) + 1. `add_logs`: log(s + 1e-20) added to each token log-reward, s = (p_ui − min)/(max − min). `none`: off. Default (docs/methods.md §A5), resolved at run start and written to the run's config.json: `div` when `scorer` or `scores` is given, else `none`.
     */
    mode?: 'none' | 'div' | 'add_logs';
    /**
     * A sequential model folder (manifest.json + weights.bin, or model.onnx) loaded with loadScorer; its numItems must cover the dataset's item ids.
     */
    scorer?: string;
    /**
     * Engine for `scorer` (default: tfjs when weights exist, else onnx).
     */
    engine?: 'tfjs' | 'onnx';
    /**
     * Instead of `scorer`: a precomputed JSONL file, one line per training row: {"row": <train.jsonl row>, "scores": [logit per item id]} (or "probs").
     */
    scores?: string;
  };
  /**
   * Temperature of the GFN training samples (docs/methods.md §A4: 1).
   */
  sampleTemperature: number;
  /**
   * How the GFN term's titles are sampled from the policy. `constrained` (docs/methods.md §A4, the with-history reference): restricted to the tree. `unconstrained` (the reference's RQ1 training): full-vocabulary samples, tokens off the tree get log-reward −15 — without it, and without an SFT term, nothing stops the policy from leaking probability to tokens outside the tree, which distorts the constrained (renormalised) distribution.
   */
  gfnSampling: 'constrained' | 'unconstrained';
  /**
   * GFN samples per batch: only the first n rows of each batch get a title sampled from the policy for L_GFN (a Monte Carlo estimate of the same mean over pairs; sampling without a KV cache is the costly part of a Flower step). 0 = every row (docs/methods.md §A4).
   */
  gfnSamplesPerBatch: number;
  /**
   * Compute the GFN term's log π (and log π(⊤|s)) normalised over the tree's children of each state plus the terminal only, instead of over the full vocabulary (docs/methods.md §A4 uses the full vocabulary: off by default, for fidelity). Either way the on-tree probability mass of the sampled states is logged per step (`train/on_tree_mass`).
   */
  gfnChildrenOnly: boolean;
  /**
   * Exploration for the GFN term: probability that a batch's titles are drawn from the tree (weights ∝ token count, the reference RQ1 replay buffer) instead of sampled from the policy. Sub-trajectory balance holds off-policy, so the optimum is unchanged; on-policy-only training (0, docs/methods.md §A4) is slow to correct titles the policy rarely samples.
   */
  offlineSampleProb: number;
  /**
   * Maximum training epochs (the reference: 7). 0 = evaluate the initial (or resumed) policy.
   */
  epochs: number;
  /**
   * Cap on optimizer steps per epoch (0 = one pass over the training rows).
   */
  stepsPerEpoch: number;
  /**
   * Training rows per optimizer step (each flower row adds one sampled title).
   */
  batchSize: number;
  /**
   * Rows per forward/backward pass: the gradients of the micro-batches of a batch are accumulated into one optimizer step of `batchSize` rows (the paper: batch 256 = micro-batch 8 × accumulation 32), each weighted by its share of the batch's rows. 0 = the whole batch at once.
   */
  microBatchSize: number;
  /**
   * AdamW learning rate (after warmup).
   */
  lr: number;
  /**
   * Linear learning-rate warmup steps (the reference: 20).
   */
  warmupSteps: number;
  /**
   * Learning rate after warmup: `constant`, or `linear` decay to 0 at the last planned optimizer step (epochs × steps per epoch; Hugging Face's linear schedule, the released trainer's default).
   */
  lrSchedule: 'constant' | 'linear';
  /**
   * Decoupled weight decay on matrices.
   */
  weightDecay: number;
  /**
   * Global gradient-norm clipping (0 = off).
   */
  clipNorm: number;
  /**
   * Early stopping: stop after this many epochs without a lower validation loss (the reference: 2, Hugging Face EarlyStoppingCallback on the eval loss). The validation loss is the objective's own: token-mean NLL for sft/ifairlrs; for flower θ·NLL + (1−θ)·SubTB of titles sampled from the policy on the validation histories (the reference's combined eval loss). The best epoch's weights are restored for decoding. 0 = off.
   */
  patience: number;
  /**
   * Train on a seeded random subset of this many rows of train.jsonl (0 = all).
   */
  maxTrainRows: number;
  /**
   * Validation NLL on the first this many rows of valid.csv each epoch (0 = all).
   */
  maxValidRows: number;
  /**
   * Decode and score only the first this many rows of test.csv (0 = all 2,743 / 6,157 / 6,142).
   */
  maxTestRows: number;
  /**
   * recommend mode: after the test decoding, measure the mechanism (metrics.json `mechanism`): group shares and on-tree mass of titles sampled from the policy on this many training histories (sampled DGU/MGU), the reward target's own top-10 per test user (oracle NDCG/DGU/MGU), cross-user Jaccard of the top-10 lists. 0 = skip.
   */
  mechanismRows: number;
  /**
   * recommend mode: after each epoch also beam-search the first this many rows of valid.csv and emit valid/ndcg@10, valid/hr@10, valid/dgu, valid/mgu, valid/entropy (0 = only the validation NLL).
   */
  validDecodeRows: number;
  /**
   * distribution mode: training rows per epoch; SFT's targets are drawn i.i.d. from P* (seeded), Flower samples from the policy.
   */
  trainSamples: number;
  /**
   * Constrained beam search (docs/methods.md §A7). The Temp baseline is temperature 1.5, the D3 baseline length penalty 0, both on the SFT model.
   */
  decoding: {
    /**
     * Label of this decoding in metrics and the results table.
     */
    name: string;
    /**
     * Beam width.
     */
    beams: number;
    /**
     * Titles returned per row (top-K list).
     */
    returned: number;
    /**
     * score = Σ log p / generated_len^penalty (0 = D3).
     */
    lengthPenalty: number;
    /**
     * Logits divided by this before the log-softmax (1.5 = Temp baseline).
     */
    temperature: number;
    /**
     * Maximum new tokens.
     */
    maxTokens: number;
  };
  /**
   * Extra decodings of the same trained model, each overriding fields of `decoding`, e.g. [{"name": "temp", "temperature": 1.5}, {"name": "d3", "lengthPenalty": 0}]. Each writes recommendations-<name>.jsonl and metrics under <name>/.
   */
  alsoDecode: {
    /**
     * Label (file and metric prefix).
     */
    name: string;
    beams?: number;
    returned?: number;
    lengthPenalty?: number;
    temperature?: number;
    maxTokens?: number;
  }[];
  /**
   * distribution mode evaluation.
   */
  distribution: {
    /**
     * Titles sampled from each trained policy (temperature 1, constrained) for KL/JS/coverage. Exact-probability divergences are reported too.
     */
    samples: number;
  };
  /**
   * Write checkpoints/epoch-N/{weights.bin, manifest.json} (policy + optimizer state) after every epoch.
   */
  checkpoints: boolean;
  /**
   * Continue from a checkpoint: a checkpoint folder, or a run folder (its latest checkpoints/epoch-N). Same policy architecture and dataset required. When the checkpoint already holds all epochs, the run only decodes/evaluates (e.g. the Temp and D3 baselines from an SFT run).
   */
  resume?: string;
  /**
   * Start from trained weights (a fresh optimizer, epoch 0): a flower run folder (its best epoch, from metrics.json `bestEpoch`, else its latest checkpoint) or a checkpoint folder; same policy architecture and dataset required. The paper's Flower starts from a model that already writes titles: use the SFT (BIGRec) run of the same dataset and backbone. Absent = from scratch.
   */
  init?: string;
  /**
   * Top-flow tree nodes in each trie-snapshot event (before training and after each epoch) with the policy's probability of reaching them; 0 = no snapshots.
   */
  snapshotNodes: number;
  /**
   * recommend mode: validation histories the snapshot's policy probabilities are averaged over.
   */
  snapshotHistories: number;
}
/**
 * Run a grid of this config: one run folder per point under a parent sweep folder (sweep.json index, results table, SVG plots).
 */
export interface SweepSpec {
  /**
   * Config values to vary. The grid is the Cartesian product of all parameters.
   *
   * @minItems 1
   */
  parameters: {
    /**
     * Dotted path of the value to set, e.g. `theta`, `maxRounds` or `decoding.beams` (the kind's fields are top-level).
     */
    path: string;
    /**
     * Explicit values (grid).
     *
     * @minItems 1
     */
    values?: unknown[];
    range?: {
      from: number;
      to: number;
      count: number;
      /**
       * `log` spaces values geometrically (both ends > 0) and plots on a log axis.
       */
      scale: 'linear' | 'log';
      /**
       * Round each value to an integer.
       */
      integer: boolean;
    };
  }[];
  /**
   * Repeat every point with this many seeds (seed, seed+1, ...); tables show mean ± std.
   */
  repeat: number;
  /**
   * Metrics to tabulate and plot (default: every numeric metric the points report).
   */
  metrics?: string[];
}
/**
 * AFL — Agentic Feedback Loop (docs/methods.md Part B): a recommendation agent (LLM + memory + a base model's prior) and a user agent (LLM + memory + a reward model's focus list) talk about each user for up to `maxRounds` rounds; the final answer is the last recommended item. Reports HitRatio@1 for the base model (prior alone), the Rec Agent (round 1) and AFL, per round, ablations and the user-simulation evaluation. `agents: "rule-based"` runs built-in rule-based agents (rule-based, not an LLM) offline.
 */
export interface AflConfig {
  /**
   * Optional link to the Flowloop JSON Schema (VS Code applies it to *.flowloop.json files on its own).
   */
  $schema?: string;
  /**
   * What the experiment runs: `flower` (generative recommender tuned with GFlowNet flows over the title prefix tree), `afl` (agentic feedback loop between a recommendation agent and a user agent), `sequential` (SASRec / GRU4Rec / Caser).
   */
  kind: 'afl';
  /**
   * Short run name used in run folder names (letters, digits, '.', '_', '-'). Defaults to the config file name.
   */
  name?: string;
  /**
   * Free text shown in the experiment tree.
   */
  description?: string;
  /**
   * Seed of every random choice (init, sampling, negatives, shuffles). The same seed repeats a run.
   */
  seed: number;
  /**
   * Tensor backend. `auto`: tfjs-node-gpu when installed and a GPU is visible, then tfjs-node, then WebAssembly with Flowloop's kernels, then plain JavaScript. `gpu` fails clearly when no GPU backend can start.
   */
  device: 'auto' | 'gpu' | 'cpu' | 'wasm';
  sweep?: SweepSpec;
  /**
   * Dataset folder, relative to this config file: LastFM (`id2name.txt`, `test.jsonl`, `test_candidates.jsonl`, 122 test users), Steam (1,186 users; a seeded 200-user sample by default, see `users`) or MovieLens (`u.item`, 95 users).
   */
  dataset: string;
  /**
   * Which dataset format `dataset` holds. Default: the folder's name.
   */
  datasetName?: 'lastfm' | 'steam' | 'movielens';
  /**
   * How items are named in prompts, matching and the popularity lookup. `methods` (docs/methods.md §B7): names come from the ids through the catalogue (MovieLens: title minus " (year)", ", The"/", A"/", An" moved to the front), not from the candidate file, whose names keep the reference's quirks ("A Affair to Remembern", "Two Friends "; Steam "Depths of Fear" for "Depths of Fear :: Knossos"). `reference`: the released code's naming (the candidate file's names), for replication.
   */
  itemNaming: 'methods' | 'reference';
  /**
   * The 20-candidate lists (`test_candidates.jsonl`: true next item + 19 negatives, docs/methods.md §B3). Default: `<dataset>/test_candidates.jsonl`.
   */
  candidates?: string;
  /**
   * Which users the loop runs for.
   */
  users: {
    /**
     * Number of users in a fixed, seeded sample, `all`, or `auto` = 200 for Steam (as the paper; the run log names the sample) and all users for LastFM (122) and MovieLens (95).
     */
    sample: number | ('auto' | 'all');
    /**
     * Seed of the user sample (Rng shuffle of the file order, first `sample`, kept in file order).
     */
    seed: number;
    /**
     * Only the first N users of the (sampled) list: for quick tries.
     */
    limit?: number;
  };
  /**
   * The base recommendation model whose top-1 candidate is the rec agent's prior (docs/methods.md §B3): a model folder (`manifest.json` + `weights.bin`, or `model.onnx`; SASRec/GRU4Rec/Caser trained or imported — the prior is computed live), a `.onnx` file, a Flower policy checkpoint (a `flower` run folder or its `checkpoints/epoch-N`; candidates scored by their length-normalised title log-probability, docs/methods.md §A7 — only on the dataset the policy was trained on), a prior CSV (`id,generate,real`, e.g. the published `prior_sasrec.csv`), or `none`.
   */
  prior: string;
  /**
   * More priors (model folders or prior CSVs) whose Base HR@1 is reported beside `prior`'s (no loop is run for them).
   */
  extraPriors: string[];
  /**
   * The user agent's reward model (docs/methods.md §B3: SASRec in eval mode): a model folder or `.onnx` file, `candidates-file` (the LastFM candidate file's precomputed PyTorch `sasrec_eval_scores`), or `none`. Its top ⌊n/4⌋ candidate names are the user agent's focus list.
   */
  rewardModel: string;
  /**
   * How model folders are run: `tfjs` (the weights in manifest.json + weights.bin, tensor backend from `device`) or `onnx` (model.onnx through onnxruntime-node).
   */
  engine: 'tfjs' | 'onnx';
  /**
   * Prompt pack (docs/methods.md §B5): `default` = Flowloop's pack for the dataset (the seed templates laid out on lines; Steam/MovieLens by word swaps), `released` = the byte-exact LastFM templates of the released code (`<dataset>/prompts_released.json`), or a path to a pack file (JSON with named placeholders such as {history}, {candidates}, {prior}, {focus}, {memory}) or to a released-format JSON.
   */
  pack: string;
  /**
   * Rounds of the loop per user (paper: 4). 1 = the "Rec Agent" baseline (no user agent).
   */
  maxRounds: number;
  /**
   * The user agent reads its memory in later rounds (paper behaviour). `false` reproduces the released code, which writes the memory but never reads it in the loop.
   */
  userMemoryInLoop: boolean;
  /**
   * How a recommended item is matched: `lenient` = case-insensitive after trimming (also surrounding quotes/markdown); `strict` = the reference's check (lower-cased equality with the target). Items not in the candidate list are recorded in both modes.
   */
  matching: 'lenient' | 'strict';
  /**
   * Extra LLM calls when a reply cannot be parsed (`Reason: … Item: …` / `Reason: … Decision: yes|no`). Each failure is counted and shown in the transcript; after the last one the user is recorded as a miss (the reference retried forever).
   */
  parseRetries: number;
  /**
   * `llm`: both agents are LLM calls to `llm`. `rule-based`: built-in agents, rule-based, not an LLM, offline — rec agent = the base model's best candidate not yet rejected; user agent = accepts when the reward model ranks the item first among the remaining candidates (templated reasons).
   */
  agents: 'llm' | 'rule-based';
  /**
   * OpenAI-compatible chat endpoint for `agents: "llm"` (OpenAI, vLLM, Ollama, ...). The API key is read from the environment (FLOWLOOP_LLM_API_KEY, else OPENAI_API_KEY; the VS Code extension sets it from its secret store) and is never written to configs, run folders or logs. The recommendation and user agents may use another model or endpoint each (`rec`, `user`).
   */
  llm: {
    /**
     * Endpoint base URL, e.g. `https://api.openai.com/v1` (the default when omitted), `http://localhost:8000/v1` (vLLM), `http://localhost:11434/v1` (Ollama).
     */
    baseURL?: string;
    /**
     * Model name as the endpoint knows it (reference: gpt-4o-mini).
     */
    model: string;
    /**
     * Sampling temperature (reference: 0).
     */
    temperature: number;
    /**
     * Nucleus sampling (`top_p`); unset = the endpoint's default.
     */
    topP?: number;
    /**
     * Upper bound on reply tokens (`max_tokens`); unset = the endpoint's default.
     */
    maxTokens?: number;
    /**
     * Sampling seed sent as `seed` (servers that support it: OpenAI, vLLM, llama.cpp). Unset = none sent. The cache key always holds it; at temperature > 0 it also holds the run's seed.
     */
    seed?: number;
    /**
     * Stop sequences (`stop`).
     *
     * @maxItems 4
     */
    stop?: string[];
    /**
     * Extra request body fields passed through as is (e.g. `{"top_k": 20}` for vLLM, `{"options": {"num_ctx": 8192}}` for Ollama); part of the cache key. Cannot override `model`, `messages` or the fields above.
     */
    extraBody?: {};
    /**
     * Most HTTP requests in flight at once, across all users (reference: 16 users in parallel).
     */
    concurrency: number;
    /**
     * Deadline of one HTTP exchange (ms), from sending the request to the last byte of the reply (a body that stalls after the headers included); a timeout is retried like a 5xx.
     */
    timeoutMs: number;
    /**
     * Retries of one request on 408/409/429/5xx, timeouts and connection errors, with exponential backoff (0.5 s doubling, at most 8 s, seeded jitter) or the server's retry-after. After the last retry the call fails permanently: the user is recorded as a miss.
     */
    maxRetries: number;
    /**
     * Settings of the recommendation agent only, over the shared ones above (another model or endpoint for this agent: e.g. a small model as the recommendation agent). Unset fields come from `llm`.
     */
    rec?: {
      /**
       * Endpoint base URL, e.g. `https://api.openai.com/v1` (the default when omitted), `http://localhost:8000/v1` (vLLM), `http://localhost:11434/v1` (Ollama).
       */
      baseURL?: string;
      /**
       * Model name as the endpoint knows it (reference: gpt-4o-mini).
       */
      model?: string;
      /**
       * Sampling temperature (reference: 0).
       */
      temperature?: number;
      /**
       * Nucleus sampling (`top_p`); unset = the endpoint's default.
       */
      topP?: number;
      /**
       * Upper bound on reply tokens (`max_tokens`); unset = the endpoint's default.
       */
      maxTokens?: number;
      /**
       * Sampling seed sent as `seed` (servers that support it: OpenAI, vLLM, llama.cpp). Unset = none sent. The cache key always holds it; at temperature > 0 it also holds the run's seed.
       */
      seed?: number;
      /**
       * Stop sequences (`stop`).
       *
       * @maxItems 4
       */
      stop?: string[];
      /**
       * Extra request body fields passed through as is (e.g. `{"top_k": 20}` for vLLM, `{"options": {"num_ctx": 8192}}` for Ollama); part of the cache key. Cannot override `model`, `messages` or the fields above.
       */
      extraBody?: {};
      /**
       * Most HTTP requests in flight at once, across all users (reference: 16 users in parallel).
       */
      concurrency?: number;
      /**
       * Deadline of one HTTP exchange (ms), from sending the request to the last byte of the reply (a body that stalls after the headers included); a timeout is retried like a 5xx.
       */
      timeoutMs?: number;
      /**
       * Retries of one request on 408/409/429/5xx, timeouts and connection errors, with exponential backoff (0.5 s doubling, at most 8 s, seeded jitter) or the server's retry-after. After the last retry the call fails permanently: the user is recorded as a miss.
       */
      maxRetries?: number;
    };
    /**
     * Settings of the user agent (also the judge of the user-simulation evaluation) only, over the shared ones above (another model or endpoint for this agent: e.g. a small model as the user agent (also the judge of the user-simulation evaluation)). Unset fields come from `llm`.
     */
    user?: {
      /**
       * Endpoint base URL, e.g. `https://api.openai.com/v1` (the default when omitted), `http://localhost:8000/v1` (vLLM), `http://localhost:11434/v1` (Ollama).
       */
      baseURL?: string;
      /**
       * Model name as the endpoint knows it (reference: gpt-4o-mini).
       */
      model?: string;
      /**
       * Sampling temperature (reference: 0).
       */
      temperature?: number;
      /**
       * Nucleus sampling (`top_p`); unset = the endpoint's default.
       */
      topP?: number;
      /**
       * Upper bound on reply tokens (`max_tokens`); unset = the endpoint's default.
       */
      maxTokens?: number;
      /**
       * Sampling seed sent as `seed` (servers that support it: OpenAI, vLLM, llama.cpp). Unset = none sent. The cache key always holds it; at temperature > 0 it also holds the run's seed.
       */
      seed?: number;
      /**
       * Stop sequences (`stop`).
       *
       * @maxItems 4
       */
      stop?: string[];
      /**
       * Extra request body fields passed through as is (e.g. `{"top_k": 20}` for vLLM, `{"options": {"num_ctx": 8192}}` for Ollama); part of the cache key. Cannot override `model`, `messages` or the fields above.
       */
      extraBody?: {};
      /**
       * Most HTTP requests in flight at once, across all users (reference: 16 users in parallel).
       */
      concurrency?: number;
      /**
       * Deadline of one HTTP exchange (ms), from sending the request to the last byte of the reply (a body that stalls after the headers included); a timeout is retried like a 5xx.
       */
      timeoutMs?: number;
      /**
       * Retries of one request on 408/409/429/5xx, timeouts and connection errors, with exponential backoff (0.5 s doubling, at most 8 s, seeded jitter) or the server's retry-after. After the last retry the call fails permanently: the user is recorded as a miss.
       */
      maxRetries?: number;
    };
    /**
     * On-disk response cache keyed by a hash of the endpoint and the full request (model, messages, every sampling parameter, extra body fields, the parse-retry attempt) and, at temperature > 0, the run's seed: a rerun or a resumed run makes no repeated calls; a repeat with another seed at temperature > 0 samples afresh. The run says how many answers came from the cache.
     */
    cache: boolean;
    /**
     * Cache folder. Default: `<workspace>/.flowloop/cache/llm` (the workspace of the run, also with `--out`).
     */
    cacheDir?: string;
    /**
     * USD per 1,000,000 tokens by model name, for the run's cost and `budget.maxUsd`, e.g. `{"gpt-4o-mini": {"input": 0.15, "output": 0.6}}`. A model not listed costs 0 (local servers); no price is assumed.
     */
    prices: {
      [k: string]:
        | {
            input: number;
            output: number;
          }
        | undefined;
    };
    /**
     * USD per 1,000 tokens for every model not in `prices` (unset: 0).
     */
    costPer1kTokens?: {
      input: number;
      output: number;
    };
    /**
     * Limits of the run's LLM use. When one is reached no new call starts: users in flight are dropped, every finished user is kept and reported, and the run finishes with `stopped: budget` (run.json, metrics.json, the table).
     */
    budget: {
      /**
       * Most HTTP requests (retries included; answers from the cache are free).
       */
      maxCalls?: number;
      /**
       * Most estimated cost in USD (from `prices` / `costPer1kTokens`).
       */
      maxUsd?: number;
    };
    /**
     * A run in which more than this share of LLM calls failed permanently (after retries) finishes as `degraded`, not as a plain success.
     */
    maxFailedShare: number;
    /**
     * Before the first user, ask the endpoint (`GET /models`) whether it is reachable, accepts the key and offers the model; a server without that route is used as is. An unreachable endpoint, a refused key (401/403) or an unknown model fails the run at once with the cause.
     */
    checkModel: boolean;
    /**
     * How a reply that cannot be parsed is retried (docs/methods.md §B2): `corrective-turn` adds the reply and the parse error as two more messages; `vary-seed` resends with `seed` + attempt; `resend` resends the same request (the released code; useless at temperature 0). Each attempt records which.
     */
    parseRetry: 'corrective-turn' | 'vary-seed' | 'resend';
  };
  /**
   * `recommendation`: Base / Rec Agent / AFL HR@1, HR@1 per round, popularity per round. `ablations`: the loop w/o recommendation model (no prior), w/o reward model (no focus list), w/o both (docs/methods.md §B6). `user-simulation`: docs/methods.md §B4 on LastFM (1:1, 1:3, 1:9; micro/macro P/R/F1, and the Reward Model baseline).
   */
  evaluations: ('recommendation' | 'ablations' | 'user-simulation')[];
  /**
   * User-simulation evaluation (docs/methods.md §B4).
   */
  userSimulation: {
    /**
     * Folder with `samples_1_1.jsonl`, `samples_1_3.jsonl`, `samples_1_9.jsonl`. Default: `<dataset>/user_sim`.
     */
    dir?: string;
    /**
     * Positive:negative ratios to evaluate.
     */
    ratios: ('1_1' | '1_3' | '1_9')[];
    /**
     * Prior for step 1 when `prior` is a CSV or none: a prior CSV. Default: the samples' own `prior_answer` (= `prior_sasrec_1_1.csv`). With a model folder as `prior`, the prior is computed live.
     */
    prior?: string;
    /**
     * Only the first N users of each samples file (quick tries).
     */
    limit?: number;
  };
  /**
   * Folder of an interrupted (cancelled, failed or budget-stopped) AFL run to continue: every user it finished (its `outcomes.jsonl`) is kept and skipped, the others run; the new run says how many were taken over. Relative to this config file. Use the same config (a warning names any setting that differs).
   */
  resume?: string;
}
/**
 * Train and evaluate a conventional sequential recommender (SASRec, GRU4Rec or Caser; docs/methods.md §A8, A9, B3) on an Amazon folder (train.jsonl histories -> next item; valid.csv / test.csv) or a LastFM-style folder (train/val/test.jsonl windows, test_candidates.jsonl). Reports HR@K / NDCG@K over the full catalogue; on Amazon also the top-10 titles per test row (recommendations.jsonl) with DGU/MGU (8 popularity groups) and H/TTR over the top-1 titles (Table 4's SASRec row); where candidate lists exist, HR@1 among the 20 candidates. Checkpoints (manifest.json + weights.bin) go into the run folder and load with `flowloop score`; `resume` continues a run from its last checkpoint.
 */
export interface SequentialConfig {
  /**
   * Optional link to the Flowloop JSON Schema (VS Code applies it to *.flowloop.json files on its own).
   */
  $schema?: string;
  /**
   * What the experiment runs: `flower` (generative recommender tuned with GFlowNet flows over the title prefix tree), `afl` (agentic feedback loop between a recommendation agent and a user agent), `sequential` (SASRec / GRU4Rec / Caser).
   */
  kind: 'sequential';
  /**
   * Short run name used in run folder names (letters, digits, '.', '_', '-'). Defaults to the config file name.
   */
  name?: string;
  /**
   * Free text shown in the experiment tree.
   */
  description?: string;
  /**
   * Seed of every random choice (init, sampling, negatives, shuffles). The same seed repeats a run.
   */
  seed: number;
  /**
   * Tensor backend. `auto`: tfjs-node-gpu when installed and a GPU is visible, then tfjs-node, then WebAssembly with Flowloop's kernels, then plain JavaScript. `gpu` fails clearly when no GPU backend can start.
   */
  device: 'auto' | 'gpu' | 'cpu' | 'wasm';
  sweep?: SweepSpec;
  /**
   * Architecture: `sasrec` (the LLaRA/DROS SASRec of docs/methods.md §C: 1 block, 1 head), `gru4rec` (one GRU layer), `caser` (horizontal + vertical convolutions).
   */
  model: 'sasrec' | 'gru4rec' | 'caser';
  /**
   * Dataset folder, relative to this config file. Amazon (`items.tsv`, `train.jsonl`, `valid.csv`, `test.csv`) or LastFM/Steam/MovieLens (`train.jsonl`, `val.jsonl`, `test.jsonl`, optional `test_candidates.jsonl`; training needs `train.jsonl`).
   */
  dataset: string;
  /**
   * How to read `dataset`: `auto` recognises an Amazon folder by items.tsv + valid.csv, otherwise uses the folder name (lastfm, steam, movielens).
   */
  datasetFormat: 'auto' | 'amazon' | 'lastfm' | 'steam' | 'movielens';
  /**
   * Hidden size H (item embedding width). The references use 64.
   */
  hidden: number;
  /**
   * Sequence length: histories keep their last `maxLen` items (left-aligned, padded after). The references use 10.
   */
  maxLen: number;
  /**
   * Dropout during training (SASRec: embeddings, attention weights, feed-forward output; GRU4Rec: embeddings; Caser: features). Off at evaluation.
   */
  dropout: number;
  /**
   * SASRec only: standard deviation of the positional embeddings' initial values. 1 is PyTorch's nn.Embedding default (what the reference code gets); item embeddings start at N(0, 0.01), so a smaller value (e.g. 0.01) keeps positions from drowning the item signal early in training.
   */
  positionalInitStd: number;
  /**
   * Caser only: filters per horizontal convolution height.
   */
  numFilters: number;
  /**
   * Caser only: heights of the horizontal convolutions (each ≤ maxLen).
   *
   * @minItems 1
   */
  filterSizes: number[];
  /**
   * `bce`: binary cross-entropy of the positive next item against `negatives` uniform random negatives per row (DROS/LLaRA, Flower's recipe). `ce`: full softmax cross-entropy over all items.
   */
  loss: 'bce' | 'ce';
  /**
   * Uniform random negatives per training row for `bce` (never the target). The references use 1.
   */
  negatives: number;
  /**
   * Maximum training epochs (early stopping may end sooner).
   */
  epochs: number;
  /**
   * Training rows per step. Default by dataset (docs/methods.md §A8): 1024 on Amazon (Flower's SASRec recipe), 256 on LastFM/Steam/MovieLens (DROS/LLaRA, docs/methods.md §C). The value used is written into the run's config.json.
   */
  batchSize?: number;
  /**
   * Adam learning rate (references: 1e-3).
   */
  lr: number;
  /**
   * L2 weight decay added to Adam's gradient (PyTorch Adam `weight_decay`). Default by dataset (docs/methods.md §A8): 1e-5 on Amazon (Flower's SASRec), 0 on LastFM/Steam/MovieLens (DROS/LLaRA). The value used is written into the run's config.json.
   */
  weightDecay?: number;
  /**
   * Stop after this many epochs without a better validation score; 0 = run all epochs. The best epoch's weights are kept.
   */
  patience: number;
  /**
   * Validation metric (full ranking) that picks the best epoch and drives early stopping. Flower's SASRec: ndcg@20.
   */
  validMetric: 'ndcg@20' | 'hr@20' | 'ndcg@10' | 'hr@10' | 'ndcg@5' | 'hr@5' | 'hr@1';
  /**
   * 0: validate by full ranking over the catalogue. N ≥ 2: validate on seeded N-candidate lists (the true next item + N−1 uniform negatives not in the history, as docs/methods.md §B3 builds the test lists), and `validMetric` is measured among them — a steadier signal on small validation sets such as LastFM's 122 users (use 20 with `hr@1`).
   */
  validCandidates: number;
  /**
   * Cut-offs K for HR@K / NDCG@K. docs/methods.md §A9 reports K ∈ {1,3,5,10}; 20 is what Flower's SASRec early-stops on (validMetric ndcg@20).
   *
   * @minItems 1
   */
  ks: number[];
  /**
   * Train on a seeded random subset of this many rows (0 = all). Use it to size runs on a busy machine; the run reports the subset.
   */
  maxTrainRows: number;
  /**
   * Validate on a seeded random subset of this many rows each epoch (0 = all).
   */
  maxEvalRows: number;
  /**
   * Test on a seeded random subset of this many test rows (0 = all, what docs/methods.md §A9 reports; recommendations.jsonl keeps the rows' test.csv numbers). For quick checks; the candidate lists (LastFM/Steam/MovieLens) are always evaluated in full.
   */
  maxTestRows: number;
  /**
   * Full ranking by title: item ids sharing a title count as one item (docs/methods.md §A9 exact title match; Amazon merges titles). Off: rank item ids.
   */
  titleMatch: boolean;
  /**
   * `best`: `model/` holds the best epoch and `checkpoints/last/` the latest (with the optimizer state, so `resume` can continue from it); `every`: also keep `checkpoints/epoch-N/` for each epoch; `none`: only `model/` at the end (no resume).
   */
  checkpoints: 'best' | 'every' | 'none';
  /**
   * Optional folder with manifest.json + weights.bin to start from (an imported PyTorch export or a Flowloop checkpoint of the same architecture and catalogue), relative to this config file. Weights only (the optimizer starts fresh at epoch 1; see `resume` to continue a run). With `train: false` it only evaluates.
   */
  init?: string;
  /**
   * Continue a run from a training checkpoint: a run folder (its checkpoints/last, else its latest checkpoints/epoch-N) or a checkpoint folder (manifest.json + weights.bin + optimizer.bin). Restores the weights, Adam's state, the epoch/step counters and the early-stopping state, then trains on to `epochs`; with the same config and seed the result equals an uninterrupted run. Same architecture and dataset required; not with `init`.
   */
  resume?: string;
  /**
   * false: skip training and only evaluate (`init` weights, or the random initialisation as a floor).
   */
  train: boolean;
}

/** Config kind → its config type. */
export interface ConfigByKind {
  flower: FlowerConfig;
  afl: AflConfig;
  sequential: SequentialConfig;
}
export type ConfigKind = keyof ConfigByKind;
