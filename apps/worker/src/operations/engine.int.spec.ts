/**
 * The workflow engine against the real Postgres of the test stack: operation rows record each
 * step, a rerun resumes where the row says, the last failed attempt undoes what ran (last first)
 * and ends the operation with a reason, and a finished operation is never touched again. The
 * workflows here are the test's own, recording which steps ran; the engine is the production one.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, schema, withPlatform, type Db, type OperationRow } from '@palisade/db';
import type { StepRecord } from '@palisade/domain';
import { loadStack } from '@palisade/testkit';
import { StepRefused, WorkflowEngine, type Workflow } from './engine';

const stack = loadStack('test');

describe('workflow engine (real Postgres)', () => {
  let db: Db;
  const kind = `test.engine-${randomUUID().slice(0, 8)}`;
  let log: string[];
  let failAt: { step: string; times: number; refuse?: boolean } | null;

  const step = (name: string) => ({
    name,
    async run() {
      log.push(`run ${name}`);
      if (failAt?.step === name && failAt.times > 0) {
        failAt.times--;
        throw failAt.refuse
          ? new StepRefused(`${name} is impossible`, 'test.refused')
          : new Error(`${name} broke`);
      }
    },
    async undo() {
      log.push(`undo ${name}`);
    },
  });
  const workflow: Workflow<unknown> = {
    kind,
    context: async (op: OperationRow) => ({ id: op.id }),
    steps: [step('allocate'), step('volume'), step('define'), step('start')],
  };
  const engine = () => new WorkflowEngine(db, new Map([[kind, workflow]]));

  async function newOperation(p: { steps?: StepRecord[]; deadline?: Date; kind?: string } = {}) {
    const [row] = await withPlatform(db, 'test fixture: operation', (tx) =>
      tx
        .insert(schema.operations)
        .values({
          kind: p.kind ?? kind,
          targetType: 'vm',
          targetId: randomUUID(),
          actor: 'test',
          deadline: p.deadline ?? new Date(Date.now() + 3_600_000),
          steps: p.steps ?? [],
        })
        .returning(),
    );
    return row!;
  }
  const read = async (id: string) =>
    (
      await withPlatform(db, 'test: read operation', (tx) =>
        tx.select().from(schema.operations).where(eq(schema.operations.id, id)),
      )
    )[0]!;

  beforeAll(() => {
    db = createDb(stack.postgres.appUrl, { max: 2 });
  });
  afterAll(() => db?.$client.end());
  const reset = () => {
    log = [];
    failAt = null;
  };

  it('runs every step in order and records each as done', async () => {
    reset();
    const op = await newOperation();
    expect(await engine().run(op.id, { attemptsMade: 0, maxAttempts: 3 })).toBe('succeeded');
    expect(log).toEqual(['run allocate', 'run volume', 'run define', 'run start']);
    const row = await read(op.id);
    expect(row).toMatchObject({ state: 'succeeded', progress: 100, errorCode: null });
    expect(row.steps.map((s) => s.state)).toEqual(['done', 'done', 'done', 'done']);
    expect(row.startedAt).not.toBeNull();
    expect(row.finishedAt).not.toBeNull();
  });

  it('resumes after a dead worker: done steps are skipped, the one left running runs again', async () => {
    reset();
    const op = await newOperation({
      steps: [
        { name: 'allocate', state: 'done' },
        { name: 'volume', state: 'running' },
        { name: 'define', state: 'pending' },
        { name: 'start', state: 'pending' },
      ],
    });
    expect(await engine().run(op.id, { attemptsMade: 1, maxAttempts: 3 })).toBe('succeeded');
    expect(log).toEqual(['run volume', 'run define', 'run start']);
  });

  it('a failed attempt that is not the last records the failed step and asks for a retry', async () => {
    reset();
    failAt = { step: 'define', times: 1 };
    const op = await newOperation();
    await expect(engine().run(op.id, { attemptsMade: 0, maxAttempts: 3 })).rejects.toThrow(
      'define broke',
    );
    const row = await read(op.id);
    expect(row.state).toBe('running');
    expect(row.progress).toBe(50);
    expect(row.steps[2]).toMatchObject({ name: 'define', state: 'failed', error: 'define broke' });
    log = [];
    expect(await engine().run(op.id, { attemptsMade: 1, maxAttempts: 3 })).toBe('succeeded');
    expect(log).toEqual(['run define', 'run start']);
  });

  it('the last failed attempt undoes what ran, last first, and ends failed with a reason', async () => {
    reset();
    failAt = { step: 'define', times: 99 };
    const op = await newOperation();
    expect(await engine().run(op.id, { attemptsMade: 2, maxAttempts: 3 })).toBe('failed');
    expect(log).toEqual([
      'run allocate',
      'run volume',
      'run define',
      'undo define',
      'undo volume',
      'undo allocate',
    ]);
    const row = await read(op.id);
    expect(row).toMatchObject({
      state: 'failed',
      errorCode: 'operation.failed',
      errorMessage: 'Step define failed after 3 attempts.',
    });
    expect(row.steps.map((s) => s.state)).toEqual([
      'compensated',
      'compensated',
      'compensated',
      'skipped',
    ]);
  });

  it('a refusal is not retried: it compensates on the first attempt with its own code', async () => {
    reset();
    failAt = { step: 'volume', times: 1, refuse: true };
    const op = await newOperation();
    expect(await engine().run(op.id, { attemptsMade: 0, maxAttempts: 5 })).toBe('failed');
    expect(log).toEqual(['run allocate', 'run volume', 'undo volume', 'undo allocate']);
    expect(await read(op.id)).toMatchObject({
      errorCode: 'test.refused',
      errorMessage: 'volume is impossible',
    });
  });

  it('past its deadline, a failure is final whatever attempts are left', async () => {
    reset();
    failAt = { step: 'allocate', times: 1 };
    const op = await newOperation({ deadline: new Date(Date.now() - 1000) });
    expect(await engine().run(op.id, { attemptsMade: 0, maxAttempts: 5 })).toBe('failed');
    expect((await read(op.id)).errorMessage).toMatch(/deadline passed/);
  });

  it('never runs a step of a finished operation (a duplicate delivery)', async () => {
    reset();
    const op = await newOperation();
    await engine().run(op.id, { attemptsMade: 0, maxAttempts: 3 });
    log = [];
    expect(await engine().run(op.id, { attemptsMade: 0, maxAttempts: 3 })).toBe('already-finished');
    expect(log).toEqual([]);
  });

  it('an operation whose recorded steps belong to another workflow fails instead of guessing', async () => {
    reset();
    const op = await newOperation({ steps: [{ name: 'something-else', state: 'done' }] });
    expect(await engine().run(op.id, { attemptsMade: 0, maxAttempts: 3 })).toBe('failed');
    expect(log).toEqual([]);
    expect(await read(op.id)).toMatchObject({ errorCode: 'operation.invalid' });
  });

  it('an operation of a kind no workflow runs fails with a clear reason', async () => {
    reset();
    const op = await newOperation({ kind: 'test.nobody-runs-this' });
    expect(await engine().run(op.id, { attemptsMade: 0, maxAttempts: 3 })).toBe('failed');
    expect(await read(op.id)).toMatchObject({
      errorCode: 'operation.unsupported',
      errorMessage: 'No workflow runs test.nobody-runs-this operations.',
    });
  });
});
