import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { findNodeAtLocation, parseTree } from 'jsonc-parser';
import { MAX_CONFIG_BYTES, validateConfigText } from '../core/experiment/validate';

/** Diagnostic code of a `$schema` that does not resolve (the quick fix removes the property). */
export const DANGLING_SCHEMA = 'flowloop.dangling-schema';

/** A relative or file `$schema` that does not exist from this file's folder. */
function danglingSchema(doc: vscode.TextDocument): vscode.Diagnostic | undefined {
  const root = parseTree(doc.getText());
  const node = root && findNodeAtLocation(root, ['$schema']);
  if (!node || typeof node.value !== 'string' || /^https?:/.test(node.value)) return undefined;
  const target = node.value.startsWith('file://') ? vscode.Uri.parse(node.value).fsPath : resolve(dirname(doc.uri.fsPath), node.value);
  if (existsSync(target)) return undefined;
  const d = new vscode.Diagnostic(
    new vscode.Range(doc.positionAt(node.offset), doc.positionAt(node.offset + node.length)),
    `"$schema" points at ${node.value}, which does not exist from here, so the editor loads no schema (no completion or hover). Remove it: Flowloop's schema applies to every *.flowloop.json.`,
    vscode.DiagnosticSeverity.Warning,
  );
  d.source = 'flowloop';
  d.code = DANGLING_SCHEMA;
  return d;
}

/** Quick fix for a dangling `$schema`: remove the property (and its comma). */
export class DanglingSchemaFix implements vscode.CodeActionProvider {
  provideCodeActions(doc: vscode.TextDocument, _range: vscode.Range, ctx: vscode.CodeActionContext): vscode.CodeAction[] {
    const d = ctx.diagnostics.find((x) => x.code === DANGLING_SCHEMA);
    const root = d && parseTree(doc.getText());
    const prop = root && findNodeAtLocation(root, ['$schema'])?.parent;
    if (!d || !prop) return [];
    const text = doc.getText();
    let end = prop.offset + prop.length;
    const after = /^\s*,\s*/.exec(text.slice(end));
    if (after) end += after[0].length;
    const fix = new vscode.CodeAction('Remove "$schema" (use the schema Flowloop contributes)', vscode.CodeActionKind.QuickFix);
    fix.edit = new vscode.WorkspaceEdit();
    fix.edit.delete(doc.uri, new vscode.Range(doc.positionAt(prop.offset), doc.positionAt(end)));
    fix.diagnostics = [d];
    fix.isPreferred = true;
    return [fix];
  }
}

const isConfig = (doc: vscode.TextDocument) => doc.uri.scheme === 'file' && doc.fileName.endsWith('.flowloop.json');

/**
 * Editor diagnostics for `*.flowloop.json`, the one source of a config's problems: core/experiment/validate's
 * `validateConfigText` (the one schema with "did you mean", path existence, the kind's semantic checks, every
 * problem at once) with the exact offset/length ranges it reports, re-run as the user types after
 * `flowloop.diagnostics.debounceMs`. VS Code's JSON service gets a constraint-free copy of the schema
 * (dist/flowloop.editor-schema.json: completion and hover only) and reports JSON syntax itself, so syntax
 * problems are left to it while it validates (`json.validate.enable`). A `$schema` that no longer resolves
 * (a copied example) would make the JSON service load no schema at all: it is flagged, with a fix.
 */
export class ConfigDiagnostics implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('flowloop');
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly subs: vscode.Disposable[];
  /** Validations done (tests check the debounce). */
  validations = 0;

  constructor() {
    this.subs = [
      vscode.workspace.onDidOpenTextDocument((d) => this.validateNow(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.schedule(e.document)),
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.collection.delete(d.uri);
        this.cancel(d);
      }),
    ];
    for (const d of vscode.workspace.textDocuments) this.validateNow(d);
  }

  private delay(): number {
    return vscode.workspace.getConfiguration('flowloop').get<number>('diagnostics.debounceMs', 300);
  }

  private cancel(doc: vscode.TextDocument): void {
    const t = this.timers.get(doc.uri.toString());
    if (t) clearTimeout(t);
    this.timers.delete(doc.uri.toString());
  }

  schedule(doc: vscode.TextDocument): void {
    if (!isConfig(doc)) return;
    this.cancel(doc);
    this.timers.set(
      doc.uri.toString(),
      setTimeout(() => {
        this.timers.delete(doc.uri.toString());
        this.validateNow(doc);
      }, this.delay()),
    );
  }

  /** Validate a document now and publish its diagnostics; returns them. */
  validateNow(doc: vscode.TextDocument): vscode.Diagnostic[] {
    if (!isConfig(doc) || doc.isClosed) return [];
    this.validations++;
    const text = doc.getText();
    let diags: vscode.Diagnostic[];
    if (text.length > MAX_CONFIG_BYTES) {
      // the same refusal as the runner's, without parsing megabytes on the extension host thread
      const d = new vscode.Diagnostic(
        new vscode.Range(0, 0, 0, 1),
        `the file is ${(text.length / 1048576).toFixed(1)} MB; a Flowloop config must be under ${MAX_CONFIG_BYTES / 1048576} MB (is this the right file?)`,
        vscode.DiagnosticSeverity.Error,
      );
      d.source = 'flowloop';
      this.collection.set(doc.uri, [d]);
      return [d];
    }
    try {
      const jsonService = vscode.workspace.getConfiguration('json', doc.uri).get<boolean>('validate.enable', true);
      const { errors } = validateConfigText(text, doc.uri.fsPath);
      diags = errors
        .filter((e) => !(jsonService && e.message.startsWith('invalid JSON:')))
        .map((e) => {
          const start = doc.positionAt(e.offset);
          const end = doc.positionAt(e.offset + Math.max(e.length, 0));
          // a template's research data that is not there: say where it comes from (the extension never ships it)
          const hint = /not found: .*shared[\\/]data[\\/]/.test(e.message)
            ? " — research data from the project's shared/data folder, which Flowloop does not ship (research-only licences): put shared/data beside or above this workspace, or point the path at your copy"
            : '';
          const d = new vscode.Diagnostic(new vscode.Range(start, end), e.message + hint, vscode.DiagnosticSeverity.Error);
          d.source = 'flowloop';
          if (e.path) d.code = e.path;
          return d;
        });
    } catch (err) {
      const d = new vscode.Diagnostic(
        new vscode.Range(0, 0, 0, 0),
        `Flowloop could not validate this config: ${(err as Error).message}`,
        vscode.DiagnosticSeverity.Warning,
      );
      d.source = 'flowloop';
      diags = [d];
    }
    const dangling = danglingSchema(doc);
    if (dangling) diags.push(dangling);
    this.collection.set(doc.uri, diags);
    return diags;
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const s of this.subs) s.dispose();
    this.collection.dispose();
  }
}
