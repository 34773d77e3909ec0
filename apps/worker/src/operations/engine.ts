/**
 * The workflow engine: runs one operation's workflow, step by step, recording each step in the
 * operation row, and compensates when the last attempt fails.
 *
 * - Resumes from the row: a step recorded `done` is not run again; one left `running` by a dead
 *   worker is run again, so every step must be idempotent for its operation ID.
 * - A failed attempt records the failed step and rethrows, so BullMQ retries with backoff.
 * - The last attempt (attempts used up, an unrecoverable error, or the deadline passed) undoes
 *   every step that ran or may have half-run, last first, then ends the operation `failed` with a
 *   code and a message a tenant can read. A failing undo is recorded and the operation still ends:
 *   the reconciler finds what it left (never a VM stuck in "building").
 * - Row locks are held only while bookkeeping, never across a step: steps call hosts and take
 *   seconds.
 *
 * Must never: run a step of a finished operation, or reopen one.
 */
import { Logger } from '@nestjs/common';
import { isAppError } from '@palisade/contracts';
import {
  finishOperation,
  lockOperation,
  recordOperationFailure,
  saveOperationSteps,
  withPlatform,
  type Db,
  type OperationRow,
} from '@palisade/db';
import {
  compensationOrder,
  initialSteps,
  isFinalAttempt,
  nextStep,
  progressOf,
  withStep,
  type StepRecord,
} from '@palisade/domain';
import { aroundStep } from './fault-injection';

export interface WorkflowStep<C> {
  name: string;
  run(ctx: C): Promise<void>;
  /** Undoes what `run` did (or half did); must be idempotent and succeed if nothing was done. */
  undo?(ctx: C): Promise<void>;
}

export interface Workflow<C> {
  kind: string;
  /** Reads what the steps need (the target rows) for this operation. */
  context(op: OperationRow): Promise<C>;
  steps: readonly WorkflowStep<C>[];
}

/** A step failure no retry can fix (the target is gone, the request is impossible). */
export class StepRefused extends Error {
  constructor(
    message: string,
    readonly code = 'operation.refused',
  ) {
    super(message);
    this.name = 'StepRefused';
  }
}

export type RunOutcome = 'succeeded' | 'failed' | 'already-finished';

export interface Attempt {
  attemptsMade: number;
  maxAttempts: number;
}

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

export class WorkflowEngine {
  private readonly logger = new Logger(WorkflowEngine.name);

  constructor(
    private readonly db: Db,
    private readonly workflows: ReadonlyMap<string, Workflow<unknown>>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async run(operationId: string, attempt: Attempt): Promise<RunOutcome> {
    const op = await withPlatform(this.db, `operation ${operationId}: read`, (tx) =>
      lockOperation(tx, operationId),
    );
    if (!op) throw new StepRefused(`operation ${operationId} does not exist`);
    if (FINISHED.has(op.state)) return 'already-finished';

    const workflow = this.workflows.get(op.kind);
    if (!workflow)
      return this.fail(op, [], 'operation.unsupported', `No workflow runs ${op.kind} operations.`);
    const init = initialSteps(
      workflow.steps.map((s) => s.name),
      op.steps as StepRecord[],
    );
    if (!init.ok) return this.fail(op, op.steps as StepRecord[], 'operation.invalid', init.reason);
    let steps = init.steps;

    // An operation found compensating was interrupted while undoing: finish undoing.
    if (op.state === 'compensating')
      return this.compensate(
        op,
        workflow,
        steps,
        op.errorCode ?? 'operation.failed',
        op.errorMessage ?? 'The operation failed.',
      );

    let ctx: unknown;
    try {
      ctx = await workflow.context(op);
      for (let i = nextStep(steps); i !== null; i = nextStep(steps)) {
        const step = workflow.steps[i]!;
        steps = withStep(steps, i, {
          state: 'running',
          startedAt: this.now().toISOString(),
          error: undefined,
        });
        await this.save(op.id, steps, 'running');
        await aroundStep(op.kind, step.name, () => step.run(ctx));
        steps = withStep(steps, i, { state: 'done', finishedAt: this.now().toISOString() });
        await this.save(op.id, steps, 'running');
      }
    } catch (e) {
      const failedAt = steps.findIndex((s) => s.state === 'running');
      const message = e instanceof Error ? e.message : String(e);
      if (failedAt >= 0) {
        steps = withStep(steps, failedAt, {
          state: 'failed',
          error: message,
          finishedAt: this.now().toISOString(),
        });
        await this.save(op.id, steps, 'running');
      }
      const final = isFinalAttempt({
        ...attempt,
        unrecoverable: e instanceof StepRefused,
        pastDeadline: this.now() > op.deadline,
      });
      if (!final) throw e;
      const stepName = failedAt >= 0 ? workflow.steps[failedAt]!.name : 'prepare';
      const code = e instanceof StepRefused ? e.code : isAppError(e) ? e.code : 'operation.failed';
      const userMessage =
        e instanceof StepRefused
          ? e.message
          : isAppError(e) && e.userMessage
            ? e.userMessage
            : `Step ${stepName} failed${this.now() > op.deadline ? ' and the deadline passed' : ` after ${attempt.attemptsMade + 1} attempts`}.`;
      this.logger.warn(
        `operation ${op.id} (${op.kind}) failed at ${stepName}: ${message}; compensating`,
      );
      return ctx === undefined
        ? this.fail(op, steps, code, userMessage)
        : this.compensate(op, workflow, steps, code, userMessage, ctx);
    }
    await withPlatform(this.db, `operation ${op.id}: finish`, (tx) =>
      finishOperation(tx, { id: op.id, state: 'succeeded', steps, progress: 100 }),
    );
    return 'succeeded';
  }

  /**
   * Ends an operation that outlived its deadline: undoes what its steps did and fails it with
   * `operation.deadline_exceeded`. The caller makes sure no worker is running it at the moment
   * (the sweeper skips operations whose job is active).
   */
  async expire(operationId: string): Promise<RunOutcome> {
    const op = await withPlatform(this.db, `operation ${operationId}: read for expiry`, (tx) =>
      lockOperation(tx, operationId),
    );
    if (!op || FINISHED.has(op.state)) return 'already-finished';
    const message = `The operation did not finish before its deadline (${op.deadline.toISOString()}).`;
    const workflow = this.workflows.get(op.kind);
    const init = workflow
      ? initialSteps(
          workflow.steps.map((s) => s.name),
          op.steps as StepRecord[],
        )
      : null;
    if (!workflow || !init?.ok)
      return this.fail(op, op.steps as StepRecord[], 'operation.deadline_exceeded', message);
    this.logger.warn(`operation ${op.id} (${op.kind}) passed its deadline; compensating`);
    return this.compensate(op, workflow, init.steps, 'operation.deadline_exceeded', message);
  }

  private async compensate(
    op: OperationRow,
    workflow: Workflow<unknown>,
    steps: StepRecord[],
    code: string,
    message: string,
    ctx?: unknown,
  ): Promise<RunOutcome> {
    await withPlatform(this.db, `operation ${op.id}: compensating`, (tx) =>
      recordOperationFailure(tx, { id: op.id, errorCode: code, errorMessage: message }),
    );
    const context = ctx ?? (await workflow.context(op));
    let undoFailed: string | undefined;
    for (const i of compensationOrder(steps)) {
      const step = workflow.steps[i]!;
      await this.save(op.id, steps, 'compensating');
      try {
        await step.undo?.(context);
        steps = withStep(steps, i, { state: 'compensated', finishedAt: this.now().toISOString() });
      } catch (e) {
        undoFailed = `undo of ${step.name} failed: ${e instanceof Error ? e.message : String(e)}`;
        this.logger.error(`operation ${op.id}: ${undoFailed}`);
        steps = withStep(steps, i, { error: undoFailed });
      }
    }
    for (let i = 0; i < steps.length; i++)
      if (steps[i]!.state === 'pending') steps = withStep(steps, i, { state: 'skipped' });
    return this.fail(
      op,
      steps,
      code,
      undoFailed ? `${message} Cleanup is incomplete; operators were notified.` : message,
    );
  }

  private async fail(
    op: OperationRow,
    steps: StepRecord[],
    code: string,
    message: string,
  ): Promise<RunOutcome> {
    await withPlatform(this.db, `operation ${op.id}: fail`, (tx) =>
      finishOperation(tx, {
        id: op.id,
        state: 'failed',
        steps,
        progress: progressOf(steps),
        errorCode: code,
        errorMessage: message,
      }),
    );
    return 'failed';
  }

  private save(id: string, steps: StepRecord[], state: 'running' | 'compensating'): Promise<void> {
    return withPlatform(this.db, `operation ${id}: progress`, (tx) =>
      saveOperationSteps(tx, { id, steps, progress: progressOf(steps), state }),
    );
  }
}
