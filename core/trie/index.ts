export { PrefixTree, titleTokens, type TitleEnd, type TrieBuildOptions } from './prefixTree';
export { readRewardFile, parseRewardJson, buildTrieFromRewardFile, type TitleRewards } from './rewards';
export { buildRq1Trie, rq1File } from './rq1';
