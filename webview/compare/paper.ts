/**
 * The papers' numbers, as docs/methods.md quotes them, for a reference column in the comparison (a data table:
 * it stays a literal copy of the doc's table by design).
 * Flower: the paper's Table 4 (docs/methods.md §A9; @10 assumed; Qwen2.5-1.5B backbone; Movies TTR cut off in the seed).
 * AFL: docs/methods.md §B6 (LastFM, SASRec base, GPT-4o-mini): base .2869, Rec Agent .3197, AFL .3770.
 */

export type FlowerColumn = 'ndcg@10' | 'hr@10' | 'dgu' | 'mgu' | 'h' | 'ttr';
export const FLOWER_COLUMNS: { id: FlowerColumn; label: string }[] = [
  { id: 'ndcg@10', label: 'NDCG@10' },
  { id: 'hr@10', label: 'HR@10' },
  { id: 'dgu', label: 'DGU' },
  { id: 'mgu', label: 'MGU' },
  { id: 'h', label: 'H' },
  { id: 'ttr', label: 'TTR' },
];

type Row = [number, number, number, number, number, number | undefined];
/**
 * Table 4 rows per dataset folder name; values in FLOWER_COLUMNS order.
 * Kept as data on purpose: these are the paper's published numbers, transcribed cell by cell so each can be
 * checked against the paper's table; the rows look alike because the table is regular, not because they
 * could be computed, so nothing here is folded into code.
 */
export const PAPER_TABLE4: Record<string, { dataset: string; rows: Record<string, Row> }> = {
  CDs_and_Vinyl: {
    dataset: 'CDs',
    rows: {
      SASRec: [0.0641, 0.0851, 0.184, 0.038, 9.188, 0.124],
      BIGRec: [0.0573, 0.0715, 0.217, 0.045, 5.9, 0.006],
      Temp: [0.0503, 0.0627, 0.222, 0.044, 6.202, 0.006],
      D3: [0.0812, 0.0999, 0.355, 0.072, 7.635, 0.013],
      IFairLRS: [0.0621, 0.0762, 0.217, 0.045, 6.42, 0.007],
      Flower: [0.07, 0.0885, 0.075, 0.021, 7.919, 0.013],
    },
  },
  Video_Games: {
    dataset: 'Games',
    rows: {
      SASRec: [0.0369, 0.0544, 0.167, 0.033, 8.229, 0.05],
      BIGRec: [0.0326, 0.0466, 0.151, 0.029, 7.504, 0.004],
      Temp: [0.0306, 0.0444, 0.129, 0.026, 7.307, 0.004],
      D3: [0.0413, 0.0607, 0.22, 0.041, 7.645, 0.005],
      IFairLRS: [0.0396, 0.0568, 0.144, 0.03, 7.699, 0.005],
      Flower: [0.0543, 0.0799, 0.108, 0.023, 7.75, 0.005],
    },
  },
  Movies_and_TV: {
    dataset: 'Movies',
    rows: {
      SASRec: [0.0902, 0.1072, 0.138, 0.032, 8.892, undefined],
      BIGRec: [0.093, 0.1134, 0.123, 0.028, 8.297, undefined],
      Temp: [0.0852, 0.1061, 0.139, 0.027, 8.145, undefined],
      D3: [0.1007, 0.1225, 0.147, 0.033, 8.348, undefined],
      IFairLRS: [0.0957, 0.117, 0.159, 0.043, 8.048, undefined],
      Flower: [0.0959, 0.1199, 0.076, 0.026, 8.808, undefined],
    },
  },
};

/** Which Table 4 row a run's method corresponds to (SFT + constrained decoding = BIGRec). */
export function paperMethod(method: string | undefined): string | undefined {
  const m = (method ?? '').toLowerCase();
  if (!m) return undefined;
  if (m.includes('flower') || m.includes('gfn')) return 'Flower';
  if (m.includes('ifair')) return 'IFairLRS';
  if (m === 'd3' || m.includes('d3')) return 'D3';
  if (m.includes('temp')) return 'Temp';
  if (m.includes('sasrec')) return 'SASRec';
  if (m.includes('bigrec') || m.includes('sft')) return 'BIGRec';
  return undefined;
}

/** AFL on LastFM (docs/methods.md §B6): HR@1 of the base model (SASRec), Rec Agent (1 round), AFL (≤4 rounds). */
export const PAPER_AFL_LASTFM = { base: 0.2869, recAgent: 0.3197, afl: 0.377, users: 122 };

/**
 * The paper's Table 5 "Reward Model" row on LastFM 1:1 (docs/methods.md §B4): micro precision and recall.
 * Flowloop's Reward Model (SASRec's top quarter of the 20 items) does not reproduce it, nor does any other
 * definition tried (listed in §B4), so the compare view shows it as the paper's, never as a match.
 */
export const PAPER_USERSIM_REWARD_LASTFM_1_1 = { precision: 0.6667, recall: 0.0533 };

/** Normalise a dataset name to a Table 4 key ("cds" → CDs_and_Vinyl ...). */
export function table4Key(dataset: string | undefined): string | undefined {
  const d = (dataset ?? '').toLowerCase();
  if (d.includes('cd')) return 'CDs_and_Vinyl';
  if (d.includes('game')) return 'Video_Games';
  if (d.includes('movie') && !d.includes('lens') && !d.includes('rq1')) return 'Movies_and_TV';
  return undefined;
}
