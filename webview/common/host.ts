/**
 * Webview side of the contract (webview/contract.ts): acquires the VS Code API once, posts `ready`,
 * delivers the full state and the increments to the view in order (increments that arrive before
 * `init` are queued, never dropped), and persists the view's UI state with setState/getState.
 */
import type { RunEvent, RunStartedEvent } from '../../core/experiment/events';
import {
  isHostToWebview,
  PROTOCOL_VERSION,
  type PackedTrieSnapshot,
  type RunRef,
  type ViewName,
  type ViewState,
  type WebviewToHost,
} from '../contract';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

let api: VsCodeApi | undefined;
function vscode(): VsCodeApi {
  if (!api) {
    // Outside VS Code (a bare page) there is no API: keep a local stand-in so the view still works.
    api =
      typeof acquireVsCodeApi === 'function'
        ? acquireVsCodeApi()
        : { postMessage: () => undefined, getState: () => undefined, setState: () => undefined };
  }
  return api;
}

/** Posts a typed message to the host. */
export function post(msg: WebviewToHost): void {
  vscode().postMessage(msg);
}

/** The UI state saved by this view (undefined after a first open). */
export function loadUiState<T>(): Partial<T> {
  const s = vscode().getState();
  return (s && typeof s === 'object' ? s : {}) as Partial<T>;
}

/** Saves the view's UI state (restored by VS Code when the panel is re-shown or deserialized). */
export function saveUiState<T>(state: T): void {
  vscode().setState(state);
}

/**
 * Change handlers for the fields of a view's UI state: `set(key)` is a handler that stores a new value of that
 * field, then calls `changed` (save the state, redraw).
 */
export function uiSetter<S extends object>(ui: S, changed: () => void): <K extends keyof S>(key: K) => (value: S[K]) => void {
  return (key) => (value) => {
    ui[key] = value;
    changed();
  };
}

/** The runs a view names (legend entries, transcript cards) by id: those of `init`, then each `run-started` increment. */
export class RunRefs extends Map<string, RunRef> {
  /** Forgets the runs known so far and takes those of an `init` state. */
  reset(refs: readonly RunRef[]): void {
    this.clear();
    for (const r of refs) this.set(r.runId, r);
  }

  /** Takes a run that started after `init`. */
  started(e: RunStartedEvent): void {
    this.set(e.runId, { runId: e.runId, name: e.name, kind: e.kind });
  }

  /** A run's name (its id while the run is unknown). */
  nameOf(runId: string): string {
    return this.get(runId)?.name ?? runId;
  }
}

/**
 * The `onEvents` of a view that collects the events of its runs (loss curves, transcripts): each increment goes to
 * its handler in `on` by type, a `run-started` adds its run to `runs`, and `redraw` follows when any was taken.
 */
export function collector(runs: RunRefs, on: IncrementHandlers, redraw: () => void): (events: Increment[]) => void {
  return (events) => {
    if (dispatch(events, { 'run-started': (e) => runs.started(e), ...on })) redraw();
  };
}

/** What an `events` message carries: run events, or a trie snapshot in its packed form. */
export type Increment = RunEvent | PackedTrieSnapshot;

export interface ViewHandlers<S extends ViewState> {
  onInit(state: S): void;
  /** The increments (a view that is rebuilt by `init` only leaves it out). */
  onEvents?(events: Increment[]): void;
}

/** The handlers of the increment types a view shows, by type. */
export type IncrementHandlers = { [T in Increment['type']]?: (e: Extract<Increment, { type: T }>) => void };

/** Gives each increment to the handler of its type (other types are not the view's); true when any was handled. */
export function dispatch(events: Increment[], on: IncrementHandlers): boolean {
  let any = false;
  for (const e of events) {
    const f = on[e.type] as ((e: Increment) => void) | undefined;
    if (f) {
      f(e);
      any = true;
    }
  }
  return any;
}

/** `draw` at most once per animation frame, however often the returned function is called before it (a run emits events per step). */
export function perFrame(draw: () => void): () => void {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      draw();
    });
  };
}

/** Counts a finished render on the page (body data-rendered): tests wait on this count, never on time. */
export function markRendered(): void {
  document.body.dataset.rendered = String(Number(document.body.dataset.rendered ?? 0) + 1);
}

/** Wires a view to the host: listens, then posts `ready`. */
export function startView<S extends ViewState>(view: ViewName, h: ViewHandlers<S>): void {
  let initialised = false;
  const pending: Increment[] = [];
  window.addEventListener('message', (e: MessageEvent) => {
    const m = e.data;
    if (!isHostToWebview(m)) return; // not ours (VS Code also posts its own messages)
    try {
      if (m.type === 'init') {
        if (m.state.view !== view) {
          post({ type: 'error', view, message: `init for view "${m.state.view}" sent to the ${view} view` });
          return;
        }
        h.onInit(m.state as S);
        initialised = true;
        if (pending.length) h.onEvents?.(pending.splice(0));
      } else if (!initialised) {
        pending.push(...m.events);
      } else {
        h.onEvents?.(m.events);
      }
    } catch (err) {
      const error = err as Error;
      post({ type: 'error', view, message: error.message, where: (error.stack ?? '').split('\n')[1]?.trim() });
      throw err;
    }
  });
  post({ type: 'ready', view, protocol: PROTOCOL_VERSION });
}
