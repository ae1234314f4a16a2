/**
 * AFL transcripts: per user, the rounds of rec-agent and user-agent messages with
 * reasons and decisions, the candidate list, the prior and the reward model's focus list, hit/miss of
 * the final answer (docs/methods.md §B2); filters by outcome and round count; a raw prompt/response toggle; the
 * "rule-based, not an LLM" label on every turn made by a built-in agent.
 */
import './transcripts.css';
import type { DialogueTurnEvent } from '../../core/experiment/events';
import type { TranscriptsViewState } from '../contract';
import { h } from '../common/dom';
import { collector, loadUiState, markRendered, perFrame, RunRefs, saveUiState, startView, uiSetter } from '../common/host';
import { badge, button, checkbox, dropdown, registerToolkit, tag, textField } from '../toolkit';
import { TranscriptStore, type Outcome, type Round, type UserTranscript } from './model';

const RULE_BASED_LABEL = 'rule-based, not an LLM';
const PAGE = 200;

interface UiState {
  outcome: Outcome;
  rounds: number;
  search: string;
  raw: boolean;
  open: string[];
}

registerToolkit();
const app = document.getElementById('app')!;
const saved = loadUiState<UiState>();
const ui: UiState = {
  outcome: saved.outcome ?? 'all',
  rounds: saved.rounds ?? 0,
  search: saved.search ?? '',
  raw: saved.raw ?? false,
  open: saved.open ?? [],
};
const store = new TranscriptStore();
const runs = new RunRefs();
let limit = PAGE;
/** A filter or display choice: saved, then the list is drawn again from its first page. */
const set = uiSetter(ui, changed);

const OUTCOMES: Record<Outcome, string> = { all: 'all outcomes', hit: 'hit', miss: 'miss' };
const outcomeSel = dropdown(OUTCOMES, ui.outcome, set('outcome'), 'outcome');
const ROUNDS = { 0: 'any rounds', 1: '1 round', 2: '2 rounds', 3: '3 rounds', 4: '4+ rounds' };
const roundsSel = dropdown(ROUNDS, String(ui.rounds), (v) => set('rounds')(Number(v)), 'rounds');
const search = textField('user id or item…', ui.search, { id: 'filter-text', onInput: set('search') });
const rawBox = checkbox('raw prompt/response', ui.raw, set('raw'), 'raw');
const banner = h('div', { id: 'rule-banner', class: 'banner hidden' });
const count = h('span', { id: 'count', class: 'muted' });
const list = h('div', { id: 'users' });
const more = button(
  'Show more',
  () => {
    limit += PAGE;
    render();
  },
  { appearance: 'secondary', id: 'more' },
);
app.append(
  h('header', { class: 'toolbar' }, h('h2', { class: 'view-title' }, 'Transcripts'), outcomeSel, roundsSel, search, rawBox, count),
  banner,
  list,
  h('div', { class: 'more' }, more),
);

function persist(): void {
  saveUiState<UiState>(ui);
}

function changed(): void {
  limit = PAGE;
  persist();
  schedule();
}

const schedule = perFrame(() => render());

function agentTag(e: DialogueTurnEvent | undefined): HTMLElement | null {
  return e?.agentKind === 'rule-based' ? tag(RULE_BASED_LABEL, 'rule-based') : null;
}

function rawBlock(e: DialogueTurnEvent): HTMLElement | null {
  if (!ui.raw) return null;
  return h(
    'div',
    { class: 'raw' },
    h('div', { class: 'raw-head' }, 'prompt'),
    h('pre', { class: 'raw-prompt' }, e.prompt),
    h('div', { class: 'raw-head' }, 'response'),
    h('pre', { class: 'raw-response' }, e.response),
  );
}

function errorsOf(e: DialogueTurnEvent): HTMLElement | null {
  return e.errors?.length ? h('ul', { class: 'errors' }, ...e.errors.map((x) => h('li', {}, x))) : null;
}

/** One agent's turn: who spoke, what it said (`said`), its reason, parse errors and (when shown) the raw exchange. */
function message(e: DialogueTurnEvent, cls: 'rec' | 'user', who: string, said: HTMLElement): HTMLElement {
  return h(
    'div',
    { class: `msg ${cls}` },
    h('div', { class: 'who' }, who, agentTag(e)),
    said,
    h('div', { class: 'reason' }, e.reason ?? ''),
    errorsOf(e),
    rawBlock(e),
  );
}

function recMessage(e: DialogueTurnEvent): HTMLElement {
  const flags: (HTMLElement | null)[] = [
    e.inCandidates === false ? badge('not in candidates', 'warn') : null,
    e.hit === true ? badge('hit', 'hit') : e.hit === false ? badge('miss', 'miss') : null,
  ];
  return message(
    e,
    'rec',
    'Recommendation agent',
    h('div', { class: 'item' }, 'Item: ', h('strong', {}, e.item ?? '(none parsed)'), ...flags),
  );
}

function userMessage(e: DialogueTurnEvent): HTMLElement {
  const decision = e.decision ?? '(none parsed)';
  return message(e, 'user', 'User agent', h('div', { class: `decision ${e.decision ?? 'none'}` }, 'Decision: ', h('strong', {}, decision)));
}

function roundBlock(r: Round): HTMLElement {
  return h(
    'div',
    { class: 'round', 'data-round': String(r.round) },
    h('div', { class: 'round-no' }, `Round ${r.round}`),
    r.rec ? recMessage(r.rec) : null,
    r.user ? userMessage(r.user) : null,
  );
}

function candidatesBlock(u: UserTranscript): HTMLElement {
  const recd = new Set(u.rounds.map((r) => r.rec?.item).filter((x): x is string => !!x));
  const focus = new Set(u.focus ?? []);
  const chips = (u.candidates ?? []).map((c) =>
    h(
      'span',
      {
        class: [
          'cand',
          c === u.target ? 'target' : '',
          c === u.prior ? 'prior' : '',
          focus.has(c) ? 'focus' : '',
          recd.has(c) ? 'recommended' : '',
        ]
          .filter(Boolean)
          .join(' '),
        title:
          [
            c === u.target ? 'target (the real next item)' : '',
            c === u.prior ? 'prior (base model)' : '',
            focus.has(c) ? 'in the focus list (reward model top 5)' : '',
            recd.has(c) ? 'recommended in some round' : '',
          ]
            .filter(Boolean)
            .join('; ') || undefined,
      },
      c,
    ),
  );
  return h(
    'div',
    { class: 'context' },
    h('div', {}, h('span', { class: 'label' }, 'prior: '), u.prior ?? '(none: ablation without recommendation model)'),
    h(
      'div',
      {},
      h('span', { class: 'label' }, 'focus list: '),
      u.focus?.length ? u.focus.join(' · ') : '(none: ablation without reward model)',
    ),
    h('div', {}, h('span', { class: 'label' }, 'target: '), u.target ?? '(unknown)'),
    h('div', { class: 'cands' }, h('span', { class: 'label' }, `candidates (${u.candidates?.length ?? 0}): `), ...chips),
  );
}

function userCard(u: UserTranscript, multiRun: boolean): HTMLElement {
  const d = h('details', {
    class: 'user',
    'data-user': u.user,
    'data-outcome': u.hit === true ? 'hit' : u.hit === false ? 'miss' : 'unknown',
    'data-rounds': String(u.rounds.length),
  });
  const sum = h(
    'summary',
    {},
    h('span', { class: 'uid' }, `user ${u.user}`),
    multiRun ? h('span', { class: 'muted' }, ` · ${runs.nameOf(u.runId)}`) : null,
    h('span', { class: 'muted' }, ` · ${u.rounds.length} round${u.rounds.length === 1 ? '' : 's'} · final: `),
    h('span', {}, u.finalItem ?? '–'),
    u.hit === true ? badge('hit', 'hit') : u.hit === false ? badge('miss', 'miss') : null,
    u.errors ? badge(`${u.errors} error${u.errors === 1 ? '' : 's'}`, 'warn') : null,
    u.ruleBased ? tag(RULE_BASED_LABEL, 'rule-based') : null,
  );
  d.append(sum);
  const fill = () => {
    if (d.children.length === 1) d.append(h('div', { class: 'body' }, candidatesBlock(u), ...u.rounds.map(roundBlock)));
  };
  if (ui.open.includes(u.key)) {
    d.open = true;
    fill();
  }
  d.addEventListener('toggle', () => {
    if (d.open) fill();
    const open = new Set(ui.open);
    if (d.open) open.add(u.key);
    else open.delete(u.key);
    ui.open = [...open];
    persist();
  });
  return d;
}

function render(): void {
  const shown = store.filter(ui.outcome, ui.rounds, ui.search);
  const multiRun = new Set([...store.users.values()].map((u) => u.runId)).size > 1;
  list.replaceChildren(...shown.slice(0, limit).map((u) => userCard(u, multiRun)));
  more.classList.toggle('hidden', shown.length <= limit);
  const hits = [...store.users.values()].filter((u) => u.hit === true).length;
  count.textContent = `showing ${Math.min(limit, shown.length)} of ${shown.length} matching · ${store.users.size} users · ${hits} hits · ${store.turns} turns`;
  const rule = [...store.users.values()].some((u) => u.ruleBased);
  banner.classList.toggle('hidden', !rule);
  banner.textContent = rule
    ? `Turns tagged "${RULE_BASED_LABEL}" come from Flowloop's built-in agents: fixed rules over the base and reward models; no language model was called.`
    : '';
  markRendered();
  document.body.dataset.turns = String(store.turns);
}

const take = collector(runs, { 'dialogue-turn': (e) => store.add(e) }, schedule);

startView<TranscriptsViewState>('transcripts', {
  onInit(state) {
    store.clear();
    runs.reset(state.runs);
    take(state.turns);
    schedule();
  },
  onEvents: take,
});
