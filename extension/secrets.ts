import * as vscode from 'vscode';

/** SecretStorage key of the LLM API key (OpenAI-compatible endpoint used by AFL's LLM agents). */
export const API_KEY_SECRET = 'flowloop.llm.apiKey';

/**
 * The LLM API key lives only in VS Code's SecretStorage; the run manager reads it when it forks a worker
 * and passes it as FLOWLOOP_LLM_API_KEY in that worker's environment. Never in settings, configs, run
 * folders, the Output channel or the extension host's own environment.
 */
export class ApiKeyStore {
  constructor(private readonly secrets: vscode.SecretStorage) {}

  get(): Thenable<string | undefined> {
    return this.secrets.get(API_KEY_SECRET);
  }

  /** Command "Set LLM API Key": a password input box (or `value`, for automation); empty clears. */
  async set(value?: string): Promise<boolean> {
    const key =
      typeof value === 'string'
        ? value
        : await vscode.window.showInputBox({
            title: 'Flowloop: LLM API key',
            prompt:
              "API key for the OpenAI-compatible endpoint of AFL's LLM agents. Stored in VS Code's secret storage and given only to Flowloop's worker processes.",
            password: true,
            ignoreFocusOut: true,
            placeHolder: 'sk-…',
          });
    if (key === undefined) return false;
    if (!key.trim()) {
      await this.secrets.delete(API_KEY_SECRET);
      void vscode.window.showInformationMessage('Flowloop: LLM API key cleared.');
      return true;
    }
    await this.secrets.store(API_KEY_SECRET, key.trim());
    void vscode.window.showInformationMessage('Flowloop: LLM API key saved in secret storage.');
    return true;
  }

  async clear(): Promise<void> {
    await this.secrets.delete(API_KEY_SECRET);
    void vscode.window.showInformationMessage('Flowloop: LLM API key cleared.');
  }
}
