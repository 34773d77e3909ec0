/**
 * The bookkeeping of a workflow run, kept pure so the worker's engine is only I/O around it.
 *
 * A workflow is an ordered list of named steps; its progress lives in the operation row as one
 * entry per step. BullMQ delivers a job at least once and a worker may die anywhere, so a run
 * always resumes from what the row says: finished steps are skipped, a step recorded as
 * `running` is run again (every step is idempotent, keyed by the operation ID). After the last
 * attempt, the steps that may have touched something are undone in reverse order (Incus'
 * `revert` pattern), which is why `running` and `failed` steps are compensated as well: they may
 * have half-happened.
 */

export type StepRunState = 'pending' | 'running' | 'done' | 'failed' | 'compensated' | 'skipped';

export interface StepRecord {
  name: string;
  state: StepRunState;
  startedAt?: string;
  finishedAt?: string;
  error?: string;
}

/** The step list a run starts from: the recorded one when it matches the workflow's steps, else a
 *  fresh one. A recorded list for different step names means the workflow changed under a
 *  running operation; that is refused rather than guessed at. */
export function initialSteps(
  workflowSteps: readonly string[],
  recorded: readonly StepRecord[],
): { ok: true; steps: StepRecord[] } | { ok: false; reason: string } {
  if (recorded.length === 0)
    return { ok: true, steps: workflowSteps.map((name) => ({ name, state: 'pending' })) };
  const names = recorded.map((s) => s.name);
  if (names.length !== workflowSteps.length || names.some((n, i) => n !== workflowSteps[i]))
    return {
      ok: false,
      reason: `recorded steps [${names.join(', ')}] do not match the workflow's [${workflowSteps.join(', ')}]`,
    };
  return { ok: true, steps: recorded.map((s) => ({ ...s })) };
}

/** Index of the next step to run, or null when every step is done or skipped. */
export function nextStep(steps: readonly StepRecord[]): number | null {
  const i = steps.findIndex((s) => s.state !== 'done' && s.state !== 'skipped');
  return i < 0 ? null : i;
}

/** Percentage of steps finished, for the operation's progress column (0–100). */
export function progressOf(steps: readonly StepRecord[]): number {
  if (steps.length === 0) return 100;
  const finished = steps.filter((s) => s.state === 'done' || s.state === 'skipped').length;
  return Math.floor((finished * 100) / steps.length);
}

/** Indices of the steps to undo, last first: everything that ran or may have partly run. */
export function compensationOrder(steps: readonly StepRecord[]): number[] {
  const out: number[] = [];
  for (let i = steps.length - 1; i >= 0; i--) {
    const s = steps[i]!.state;
    if (s === 'done' || s === 'running' || s === 'failed') out.push(i);
  }
  return out;
}

/** Whether a failed attempt is the last one: BullMQ counts `attemptsMade` before this attempt
 *  finishes, so the attempt in progress is number `attemptsMade + 1`. */
export function isFinalAttempt(p: {
  attemptsMade: number;
  maxAttempts: number;
  unrecoverable: boolean;
  pastDeadline: boolean;
}): boolean {
  return p.unrecoverable || p.pastDeadline || p.attemptsMade + 1 >= p.maxAttempts;
}

/** Returns a copy of `steps` with step `i` changed; step records are never mutated in place so a
 *  failed write leaves the caller's view consistent with the row. */
export function withStep(
  steps: readonly StepRecord[],
  i: number,
  change: Partial<StepRecord>,
): StepRecord[] {
  return steps.map((s, j) => (j === i ? { ...s, ...change } : s));
}
