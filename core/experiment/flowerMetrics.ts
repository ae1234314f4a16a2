/**
 * A Flower recommender run's result metrics as metrics.json names them, in the column order of the paper's
 * Table 4 (docs/methods.md §A9): accuracy (NDCG@10, HR@10), fairness (DGU, MGU), diversity (word entropy H,
 * TTR). Pure data: the host (the baseline comparison) and the webviews (the runs table) both import it.
 */
export const FLOWER_RESULT_METRICS = ['ndcg@10', 'hr@10', 'dgu', 'mgu', 'entropy', 'ttr'] as const;
