import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TrieSnapshotEvent } from '../../core/experiment/events';
import { isHostToWebview, isWebviewToHost, makeNonce, renderHtml, VIEW_NAMES } from '../../webview/contract';
import { packTrieSnapshot, unpackTrieSnapshot } from '../../webview/contract';
import { fixture } from '../../harness/webviewPage';

test('renderHtml: nonce CSP without network, the view script and stylesheet, #app', () => {
  const nonce = makeNonce();
  assert.match(nonce, /^[A-Za-z0-9]{32}$/);
  assert.notEqual(nonce, makeNonce());
  const html = renderHtml('loss', {
    scriptUri: 'vscode-resource://x/dist/webview/loss.js',
    styleUri: 'vscode-resource://x/dist/webview/loss.css',
    nonce,
    cspSource: 'vscode-resource:',
  });
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
  assert.equal(
    csp,
    `default-src 'none'; img-src vscode-resource: data:; style-src vscode-resource: 'nonce-${nonce}'; font-src vscode-resource:; script-src 'nonce-${nonce}'`,
  );
  assert.ok(html.includes(`<script nonce="${nonce}" src="vscode-resource://x/dist/webview/loss.js"></script>`));
  assert.ok(html.includes(`<meta property="csp-nonce" content="${nonce}">`));
  assert.ok(html.includes('<div id="app" data-view="loss"></div>'));
  assert.ok(!/unsafe-inline|unsafe-eval|https?:/.test(csp), csp);
  assert.throws(() => renderHtml('loss', { scriptUri: '', styleUri: '', nonce: 'short', cspSource: '' }), /nonce/);
  assert.throws(() => renderHtml('nope' as 'loss', { scriptUri: '', styleUri: '', nonce, cspSource: '' }), /unknown view/);
  assert.ok(
    renderHtml('trie', { scriptUri: 'a"b', styleUri: 's', nonce, cspSource: 'c' }).includes('src="a&quot;b"'),
    'attributes are escaped',
  );
});

test('message guards accept the contract and reject anything else', () => {
  for (const view of VIEW_NAMES) assert.ok(isWebviewToHost({ type: 'ready', view, protocol: 1 }));
  assert.ok(isWebviewToHost({ type: 'export', view: 'compare', format: 'csv', text: 'a', suggestedName: 'x.csv' }));
  assert.ok(!isWebviewToHost({ type: 'export', view: 'compare', format: 'xlsx', text: 'a', suggestedName: 'x' }));
  assert.ok(!isWebviewToHost({ type: 'ready', view: 'other', protocol: 1 }));
  assert.ok(!isWebviewToHost(null));
  assert.ok(isHostToWebview({ type: 'init', state: { view: 'loss', runs: [], metrics: [] } }));
  assert.ok(isHostToWebview({ type: 'events', events: [] }));
  assert.ok(!isHostToWebview({ type: 'init', state: { view: 'x' } }));
  assert.ok(!isHostToWebview({ type: 'vscode-internal' }));
});

test('packTrieSnapshot round-trips a real snapshot, with and without policy probabilities', () => {
  const [snap] = fixture<TrieSnapshotEvent[]>('trie-cds.json');
  const packed = packTrieSnapshot(snap);
  assert.equal(packed.id.length, snap.nodes.length);
  assert.equal(packed.policy, undefined);
  assert.deepEqual(unpackTrieSnapshot(packed), snap);
  const withPolicy: TrieSnapshotEvent = { ...snap, nodes: snap.nodes.map((n, i) => (i % 3 ? { ...n, policy: n.flow / 2 } : n)) };
  const p2 = packTrieSnapshot(withPolicy);
  assert.ok(Number.isNaN(p2.policy![0]));
  assert.deepEqual(unpackTrieSnapshot(p2), withPolicy);
});
