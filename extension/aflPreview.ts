/**
 * "Flowloop: Preview AFL Prompts" (command and CodeLens on `kind: "afl"` configs): the first-round prompts
 * of one user, as `flowloop afl preview` renders them (core/afl/preview.ts), in a read-only document.
 * The CLI runs in a child process (it may load the prior / reward model), so the editor stays free and
 * no LLM is called.
 */
import * as vscode from 'vscode';
import { fork } from 'node:child_process';

/** Runs `dist/cli.js afl preview <config> --user <n>`; resolves with its stdout, rejects with its error text. */
export function runPreview(cliPath: string, configPath: string, user: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = fork(cliPath, ['afl', 'preview', configPath, '--user', String(user)], { silent: true });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    child.stderr?.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(err.trim() || `flowloop afl preview exited ${code}`))));
  });
}

/** Asks for the user index (default 0), renders the preview and opens it beside the config. */
export async function previewAflPrompts(cliPath: string, uri: vscode.Uri, user?: number): Promise<vscode.TextDocument | undefined> {
  if (!vscode.workspace.isTrusted) throw new Error('previewing prompts reads the files a config names: trust this workspace first');
  let index = user;
  if (index === undefined) {
    const v = await vscode.window.showInputBox({
      title: 'Flowloop: preview the AFL prompts of user #',
      value: '0',
      validateInput: (s) => (/^\d+$/.test(s.trim()) ? undefined : 'a user index: 0, 1, 2, ...'),
    });
    if (v === undefined) return undefined;
    index = Number(v.trim());
  }
  const text = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: 'Flowloop: rendering AFL prompts' },
    () => runPreview(cliPath, uri.fsPath, index!),
  );
  const doc = await vscode.workspace.openTextDocument({ content: text, language: 'plaintext' });
  await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true });
  return doc;
}
