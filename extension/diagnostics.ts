import * as vscode from 'vscode';
import { MAX_CONFIG_BYTES, validateConfigText } from '../core/experiment/validate';

const isConfig = (doc: vscode.TextDocument) => doc.uri.scheme === 'file' && doc.fileName.endsWith('.flowloop.json');

/**
 * Editor diagnostics for `*.flowloop.json`: core/experiment/validate's
 * `validateConfigText` (JSON syntax, the one schema, path existence, the kind's semantic checks) with
 * the exact offset/length ranges it reports, re-run as the user types after `flowloop.diagnostics.debounceMs`.
 * (The schema alone also reaches the JSON language service through `contributes.jsonValidation`.)
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
    this.timers.set(doc.uri.toString(), setTimeout(() => { this.timers.delete(doc.uri.toString()); this.validateNow(doc); }, this.delay()));
  }

  /** Validate a document now and publish its diagnostics; returns them. */
  validateNow(doc: vscode.TextDocument): vscode.Diagnostic[] {
    if (!isConfig(doc) || doc.isClosed) return [];
    this.validations++;
    const text = doc.getText();
    let diags: vscode.Diagnostic[];
    if (text.length > MAX_CONFIG_BYTES) {
      // the same refusal as the runner's, without parsing megabytes on the extension host thread
      const d = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 1), `the file is ${(text.length / 1048576).toFixed(1)} MB; a Flowloop config must be under ${MAX_CONFIG_BYTES / 1048576} MB (is this the right file?)`, vscode.DiagnosticSeverity.Error);
      d.source = 'flowloop';
      this.collection.set(doc.uri, [d]);
      return [d];
    }
    try {
      const { errors } = validateConfigText(text, doc.uri.fsPath);
      diags = errors.map((e) => {
        const start = doc.positionAt(e.offset);
        const end = doc.positionAt(e.offset + Math.max(e.length, 0));
        // a template's research data that is not there: say where it comes from (the extension never ships it)
        const hint = /not found: .*shared[\\/]data[\\/]/.test(e.message)
          ? ' — research data from the project\'s shared/data folder, which Flowloop does not ship (research-only licences): put shared/data beside or above this workspace, or point the path at your copy'
          : '';
        const d = new vscode.Diagnostic(new vscode.Range(start, end), e.message + hint, vscode.DiagnosticSeverity.Error);
        d.source = 'flowloop';
        if (e.path) d.code = e.path;
        return d;
      });
    } catch (err) {
      const d = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 0), `Flowloop could not validate this config: ${(err as Error).message}`, vscode.DiagnosticSeverity.Warning);
      d.source = 'flowloop';
      diags = [d];
    }
    this.collection.set(doc.uri, diags);
    return diags;
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const s of this.subs) s.dispose();
    this.collection.dispose();
  }
}
