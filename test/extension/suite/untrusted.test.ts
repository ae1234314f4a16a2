import * as vscode from 'vscode';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test, waitFor } from './harness';
import type { FlowloopApi } from '../../../extension/extension';

// Runs in a second code-server whose workspace is NOT trusted (workspace trust on, no startup prompt).
const ws = () => vscode.workspace.workspaceFolders![0].uri.fsPath;

async function api(): Promise<FlowloopApi> {
  const ext = vscode.extensions.getExtension<FlowloopApi>('flowloop.flowloop');
  assert.ok(ext, 'extension not loaded in restricted mode (capabilities.untrustedWorkspaces)');
  return ext.activate();
}

test('untrusted: the workspace really is untrusted', () => {
  assert.equal(vscode.workspace.isTrusted, false);
});

test('untrusted: the extension still activates (limited support) and validates configs', async () => {
  await api();
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(join(ws(), 'bad.flowloop.json')));
  await waitFor('a flowloop diagnostic', () => vscode.languages.getDiagnostics(doc.uri).some((d) => d.source === 'flowloop'));
});

test('untrusted: the CodeLens asks for trust instead of offering ▶ Run', async () => {
  await api();
  const uri = vscode.Uri.file(join(ws(), 'quick.flowloop.json'));
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
  const lenses = await waitFor('code lenses', async () => {
    const l = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri)) ?? [];
    return l.length ? l : undefined;
  });
  const titles = lenses.map((l) => l.command?.title);
  assert.ok(titles.includes('▶ Run (trust this workspace first)'), titles.join(' | '));
  assert.ok(!titles.includes('▶ Run'), titles.join(' | '));
});

test('untrusted: Run Experiment is refused — no worker, no run folder', async () => {
  const a = await api();
  const run = await vscode.commands.executeCommand('flowloop.runExperiment', vscode.Uri.file(join(ws(), 'quick.flowloop.json')), {
    openView: false,
  });
  assert.equal(run, undefined);
  assert.equal(a.runs.all().length, 0);
  assert.equal(existsSync(join(ws(), '.flowloop', 'runs')), false);
  const baselines = await vscode.commands.executeCommand('flowloop.runBaselines', vscode.Uri.file(join(ws(), 'quick.flowloop.json')), [
    'sasrec',
  ]);
  assert.deepEqual(baselines, []);
  assert.equal(a.runs.all().length, 0);
});
