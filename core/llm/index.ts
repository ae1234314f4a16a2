/**
 * Hugging Face causal LMs (Qwen2, Llama) in Flowloop's tensor layer: the paper's policy backbone
 * (docs/methods.md §A6b). See docs in each module; the API summary is in core/llm/README.md.
 */
export {
  readHfConfig,
  parseHfConfig,
  expectedWeights,
  parameterCount,
  type LlmConfig,
  type Architecture,
  type RopeScaling,
} from './hfConfig';
export {
  readSafetensors,
  readSafetensorsHeader,
  readModelWeights,
  openModelWeights,
  writeSafetensors,
  type LazyTensor,
  type LoadedTensor,
  type TensorToWrite,
  type StoredDtype,
} from './safetensors';
export { loadHfTokenizer, HfTokenizer } from './tokenizer';
export { CausalLM, type LinearAdapter, type ForwardOptions } from './model';
export { layoutRows, causalMask, type SeqLayout } from './layout';
export { LmPolicy } from './policy';
export { loadHfModel, checkModelFolder, precisionNote, type HfModel } from './load';
export {
  RELEASED_PROMPT,
  RELEASED_CATEGORIES,
  categoryOf,
  checkTemplate,
  promptSettings,
  promptIds,
  promptText,
  completionIds,
  truncateLeft,
  type PromptTemplate,
} from './prompt';
export { estimateMemory, checkMemory, backendMemory, loraParamCount, formatBytes, type MemoryPlan, type MemoryEstimate } from './memory';
export { describeModel, storedDtypes } from './describe';
