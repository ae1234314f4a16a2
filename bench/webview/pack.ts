/**
 * The extension host's packing step (webview/contract.ts packTrieSnapshot, as extension/viewState.ts calls
 * it) bundled for the page, so bench/webview/bench.ts can time it inside the first-paint timer.
 */
import { packTrieSnapshot } from '../../webview/contract';

(window as unknown as { __flowloopPack: typeof packTrieSnapshot }).__flowloopPack = packTrieSnapshot;
