/**
 * The run-wide cost limits of an AFL run (docs/methods.md §B2 cost control): `llm.budget.maxCalls` HTTP calls and
 * `llm.budget.maxUsd` dollars over every LLM client of the run; the first call refused stops the run with the reason.
 */
/** The run-wide limits of `llm.budget`, shared by every client of a run (docs/methods.md §B2 cost control). */
export class Budget {
  calls = 0;
  costUsd = 0;
  /** Why the budget stopped the run ("2 calls reached (maxCalls 2)"), once it did. */
  exhausted: string | null = null;
  /** `onExhausted` hears the reason once, when the first call is refused. */
  constructor(
    readonly maxCalls?: number,
    readonly maxUsd?: number,
    private onExhausted?: (why: string) => void,
  ) {}
  /** Takes one HTTP call from the budget; false (and `exhausted` set) when none is left. */
  take(): boolean {
    if (this.exhausted === null && this.maxCalls !== undefined && this.calls >= this.maxCalls)
      this.exhausted = `${this.calls} calls reached (budget.maxCalls ${this.maxCalls})`;
    if (this.exhausted === null && this.maxUsd !== undefined && this.costUsd >= this.maxUsd)
      this.exhausted = `$${this.costUsd.toFixed(4)} spent (budget.maxUsd ${this.maxUsd})`;
    if (this.exhausted !== null) {
      const cb = this.onExhausted;
      this.onExhausted = undefined;
      cb?.(this.exhausted);
      return false;
    }
    this.calls++;
    return true;
  }
}
