/** The concurrency limit of the LLM clients (`llm.concurrency` HTTP requests in flight across all users). */
/** FIFO counting semaphore. */
export class Semaphore {
  private active = 0;
  private readonly waiters: (() => void)[] = [];
  maxActive = 0;
  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new Error(`concurrency must be >= 1, got ${limit}`);
  }
  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      this.maxActive = Math.max(this.maxActive, this.active);
      return;
    }
    await new Promise<void>((res) => this.waiters.push(res));
    // the releaser handed its slot over: active unchanged
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.active--;
  }
}
