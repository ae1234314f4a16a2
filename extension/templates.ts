import * as vscode from 'vscode';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

export interface Template {
  file: string;
  kind?: string;
  description?: string;
}

/** The examples shipped with the extension (examples/*.flowloop.json). */
export function listTemplates(extensionPath: string): Template[] {
  const dir = join(extensionPath, 'examples');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.flowloop.json')).sort().map((f) => {
    const file = join(dir, f);
    try {
      const c = JSON.parse(readFileSync(file, 'utf8'));
      return { file, kind: c.kind, description: c.description };
    } catch {
      return { file };
    }
  });
}

/**
 * Copy of a template for a new location: relative paths in it that exist next to the template (data
 * folders, files) are rewritten so they still point at the same place from the new file's folder.
 */
export function retarget(config: unknown, fromDir: string, toDir: string): unknown {
  if (typeof config === 'string') {
    if (isAbsolute(config) || !/[\\/]|\.\w+$/.test(config) || /^[a-z]+:\/\//i.test(config)) return config;
    const abs = resolve(fromDir, config);
    if (!existsSync(abs)) return config;
    const rel = relative(toDir, abs).split(sep).join('/');
    return rel.startsWith('.') ? rel : `./${rel}`;
  }
  if (Array.isArray(config)) return config.map((v) => retarget(v, fromDir, toDir));
  if (config && typeof config === 'object') {
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, k === '$schema' ? v : retarget(v, fromDir, toDir)]));
  }
  return config;
}

/** Command "New Experiment from Template": quick pick over the examples, a file name, then open it. */
export async function newFromTemplate(extensionPath: string, pickFile?: string, targetName?: string): Promise<vscode.Uri | undefined> {
  const templates = listTemplates(extensionPath);
  if (!templates.length) {
    void vscode.window.showErrorMessage('Flowloop: no example configs found in the extension (examples/*.flowloop.json).');
    return undefined;
  }
  const folder = vscode.workspace.workspaceFolders?.[0];
  if (!folder) {
    void vscode.window.showErrorMessage('Flowloop: open a folder first; the new experiment is created in it.');
    return undefined;
  }
  let template = pickFile ? templates.find((t) => t.file.endsWith(pickFile)) : undefined;
  if (pickFile && !template) {
    void vscode.window.showErrorMessage(`Flowloop: no example named ${pickFile}.`);
    return undefined;
  }
  if (!template) {
    const pick = await vscode.window.showQuickPick(
      templates.map((t) => ({ label: t.file.split(/[\\/]/).pop()!.replace(/\.flowloop\.json$/, ''), description: t.kind, detail: t.description, t })),
      { title: 'Flowloop: New Experiment from Template', placeHolder: 'Pick an example to start from', matchOnDetail: true },
    );
    if (!pick) return undefined;
    template = pick.t;
  }
  const base = template.file.split(/[\\/]/).pop()!.replace(/\.flowloop\.json$/, '');
  const name = targetName ?? await vscode.window.showInputBox({
    title: 'Flowloop: name of the new experiment',
    value: `my-${base}`,
    validateInput: (v) => (/^[A-Za-z0-9._-]+$/.test(v) ? (existsSync(join(folder.uri.fsPath, `${v}.flowloop.json`)) ? 'a config with this name exists' : undefined) : 'letters, digits, ".", "_" and "-" only'),
  });
  if (!name) return undefined;
  const target = vscode.Uri.file(join(folder.uri.fsPath, `${name}.flowloop.json`));
  if (existsSync(target.fsPath)) {
    void vscode.window.showErrorMessage(`Flowloop: ${vscode.workspace.asRelativePath(target)} exists; pick another name.`);
    return undefined;
  }
  const config = JSON.parse(readFileSync(template.file, 'utf8'));
  const copy = retarget(config, dirname(template.file), folder.uri.fsPath) as Record<string, unknown>;
  if (typeof copy.name === 'string') copy.name = name;
  await vscode.workspace.fs.writeFile(target, Buffer.from(JSON.stringify(copy, null, 2) + '\n', 'utf8'));
  await vscode.window.showTextDocument(target);
  return target;
}
