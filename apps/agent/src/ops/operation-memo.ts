/**
 * Makes a host operation idempotent by its operation ID where the operation itself is not
 * (a reboot, a revert: doing them twice is not the same as once). A repeat of a call that is
 * still running joins it; a repeat of one that succeeded gets the same answer without acting
 * again. A failure is not remembered, so the worker's retry really retries.
 *
 * Memory only, bounded (oldest forgotten first): after an agent restart a repeated call acts
 * again, which for a reboot or a revert of a stopped VM is harmless. Must never hold key
 * material (results only, never inputs).
 */
export class OperationMemo<T> {
  private readonly running = new Map<string, Promise<T>>();
  private readonly done = new Map<string, T>();

  constructor(private readonly limit = 1000) {}

  run(operationId: string, fn: () => Promise<T>): Promise<T> {
    if (this.done.has(operationId)) return Promise.resolve(this.done.get(operationId) as T);
    const inFlight = this.running.get(operationId);
    if (inFlight) return inFlight;
    const p = fn().then(
      (result) => {
        this.running.delete(operationId);
        this.done.set(operationId, result);
        if (this.done.size > this.limit) this.done.delete(this.done.keys().next().value!);
        return result;
      },
      (e: unknown) => {
        this.running.delete(operationId);
        throw e;
      },
    );
    this.running.set(operationId, p);
    return p;
  }
}
