/** What a caught value says, for messages: an Error's message, else the value as text (`catch (e)` gives `unknown`). */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The Node error code of a caught value (`ENOENT`, `EEXIST`, ...), if it has one. */
export function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
