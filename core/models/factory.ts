/** Build a sequential model by kind (sasrec | gru4rec | caser) from its config and a seeded Rng. */
import { Rng } from '../util/random';
import { Caser } from './caser';
import { GRU4Rec } from './gru4rec';
import { SeqModelBase, type SeqModelConfig } from './layers';
import { SASRec } from './sasrec';

export function createModel(config: SeqModelConfig, rng: Rng): SeqModelBase {
  switch (config.model) {
    case 'sasrec':
      return new SASRec(config, rng);
    case 'gru4rec':
      return new GRU4Rec(config, rng);
    case 'caser':
      return new Caser(config, rng);
    default:
      throw new Error(`unknown sequential model "${(config as { model: string }).model}" (sasrec | gru4rec | caser)`);
  }
}
