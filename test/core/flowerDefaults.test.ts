/**
 * Flower defaults that depend on other fields (docs/methods.md §A4 θ per dataset, A5 `div` personalization when
 * an auxiliary recommender is configured): resolved at run start and recorded in the run's config.json.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfigObject } from '../../core/experiment/validate';
import { runSingle } from '../../core/experiment/runner';
import type { RunEvent } from '../../core/experiment/events';
import { defaultPersonalizationMode, defaultTheta, resolveFlowerDefaults } from '../../core/flower/defaults';
import { shared } from '../../harness/paths';
import { tinyRecommendConfig } from './tinyFlower';

const dir = mkdtempSync(join(tmpdir(), 'fl-flower-defaults-'));
const cfgFile = join(dir, 'c.flowloop.json');

function validated(extra: Record<string, unknown>): Record<string, any> {
  const r = validateConfigObject({ kind: 'flower', ...extra }, cfgFile, 'test');
  assert.deepEqual(
    r.errors.map((e) => e.message),
    [],
  );
  return r.config!;
}

test('defaultTheta (docs/methods.md §A4): 0.9995 for Video Games, 0.995 for CDs, Movies and the rest', () => {
  const got = ['../shared/data/amazon/Video_Games', 'Video_Games/', '/x/CDs_and_Vinyl', 'Movies_and_TV', ''].map(defaultTheta);
  assert.deepEqual(got, [0.9995, 0.9995, 0.995, 0.995, 0.995]);
});

test('defaultPersonalizationMode (docs/methods.md §A5): div on recommendation data (with a scorer, a score file, or a SASRec the run trains), none without history', () => {
  assert.deepEqual(
    [
      defaultPersonalizationMode({ scorer: 'm' }),
      defaultPersonalizationMode({ scores: 's.jsonl' }),
      defaultPersonalizationMode({}),
      defaultPersonalizationMode(undefined),
      defaultPersonalizationMode({}, 'distribution'),
    ],
    ['div', 'div', 'div', 'div', 'none'],
  );
});

test('the schema leaves theta and personalization.mode unset; resolveFlowerDefaults fills them per dataset / scorer and keeps given values', () => {
  const games = shared('amazon', 'Video_Games');
  const c = validated({ dataset: games });
  assert.equal(c.theta, undefined, 'schema must not fill one θ for every dataset');
  assert.equal(c.personalization.mode, undefined, 'schema must not fill personalization.mode');
  const r = resolveFlowerDefaults(c);
  assert.deepEqual(
    [c.theta, c.personalization.mode, r.thetaFrom, r.personalizationFrom],
    [0.9995, 'div', 'dataset default (docs/methods.md §A4)', 'default (docs/methods.md §A5): div with a SASRec this run trains'],
  );
  const cds = validated({ dataset: shared('amazon', 'CDs_and_Vinyl') });
  resolveFlowerDefaults(cds);
  assert.equal(cds.theta, 0.995);
  const given = validated({ dataset: games, theta: 0.9, personalization: { mode: 'add_logs', scorer: games } });
  const rg = resolveFlowerDefaults(given);
  assert.deepEqual([given.theta, given.personalization.mode, rg.thetaFrom, rg.personalizationFrom], [0.9, 'add_logs', 'config', 'config']);
  const withScorer = validated({ dataset: games, personalization: { scorer: games } });
  resolveFlowerDefaults(withScorer);
  assert.equal(withScorer.personalization.mode, 'div');
  const off = validated({ dataset: games, personalization: { mode: 'none', scorer: games } });
  resolveFlowerDefaults(off);
  assert.equal(off.personalization.mode, 'none', 'an explicit none stays none');
  const dist = validated({ mode: 'distribution', titles: shared('movies_rq1', 'select_100_Movies.json') });
  resolveFlowerDefaults(dist);
  assert.equal(dist.theta, 0.995);
});

test('a Video_Games run without theta records θ = 0.9995 in config.json, metrics and the log', async () => {
  const events: RunEvent[] = [];
  const r = await runSingle({
    configPath: cfgFile,
    outDir: join(dir, 'runs'),
    onEvent: (e) => events.push(e),
    configObject: tinyRecommendConfig(shared('amazon', 'Video_Games'), { train: 8, valid: 4, test: 1 }, 2, {
      objective: 'flower',
      epochs: 0,
      checkpoints: false,
      seed: 3,
    }),
  });
  assert.equal(r.status, 'finished', r.error);
  const config = JSON.parse(readFileSync(join(r.runDir, 'config.json'), 'utf8'));
  assert.equal(config.theta, 0.9995, 'resolved θ in config.json');
  assert.equal(config.personalization.mode, 'div', 'recommendation data: div by default');
  assert.equal(r.metrics.personalization, 'none', 'epochs 0: no GFN training, so no SASRec is trained and no p_u used');
  assert.ok(
    events.some(
      (e) => e.type === 'log' && /personalization div: nothing to train \(no GFN term\), so no SASRec is trained/.test((e as any).message),
    ),
    'says why p_u is not used',
  );
  assert.equal(r.metrics.theta, 0.9995, 'θ in metrics.json');
  assert.ok(
    events.some((e) => e.type === 'log' && /θ = 0\.9995 \(dataset default \(docs\/methods\.md §A4\)\)/.test((e as any).message)),
    'θ default logged',
  );
});
