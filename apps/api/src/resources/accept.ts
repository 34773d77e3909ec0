/**
 * Accepting a change: the one path every tenant mutation that starts work goes through.
 *
 * In ONE transaction it runs the change (rows, allocations, the quota ledger), writes the
 * operation a worker will execute (state pending; the outbox) and the audit event. It answers
 * 202 with the operation, optionally waiting for it to end (`wait`, or `?wait=true` on REST).
 *
 * Idempotency-Key: the key is stored on the operation (unique per tenant) and a fingerprint of
 * the request in the audit event's details. A repeat with the same key and the same request
 * answers the first result and changes nothing; the same key with another request is refused
 * (common.idempotency_key_reused). Two concurrent first requests race on the unique constraint;
 * the loser rolls back and answers the winner's result.
 *
 * Must never: write an operation without its change (or the reverse), or leak whether another
 * tenant used the same key (keys are per tenant).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AppError, ErrorCode, type Operation } from '@palisade/contracts';
import {
  insertOperation,
  operationByIdempotencyKey,
  recordAudit,
  requestHashOf,
  uniqueViolation,
  withTenant,
  type Tx,
} from '@palisade/db';
import { auditOf } from '../trpc/audit';
import type { TrpcContext } from '../trpc/context';
import type { TenantScope } from '../trpc/trpc';
import { isFinished, pollOperation, toOperation, waitSecondsOf } from './operation';

/** Long enough for the slowest step (an image download); the reconciler ends it after that. */
const OPERATION_DEADLINE_MS = 60 * 60 * 1000;
const KEY = /^[\x21-\x7e]{1,255}$/;

type Ctx = TrpcContext & { principal: NonNullable<TrpcContext['principal']>; tenant: TenantScope };

export interface Change<T> {
  /** Operation kind and audit action, e.g. vm.create. */
  kind: string;
  targetType: string;
  /** The validated input; its fingerprint (without the wait fields) guards Idempotency-Key. */
  input: Record<string, unknown>;
  /** Makes the change; returns the target's id and what the audit event should say. */
  run: (tx: Tx) => Promise<{ targetId: string; audit?: Record<string, unknown> }>;
  /** The response body besides the operation, read from committed rows (replays use it too). */
  view: (tx: Tx, targetId: string) => Promise<T>;
}

export function idempotencyKeyOf(ctx: Pick<TrpcContext, 'idempotencyKey'>): string | undefined {
  const key = ctx.idempotencyKey;
  if (key === undefined) return undefined;
  if (!KEY.test(key))
    throw new AppError(ErrorCode.VALIDATION_FAILED, 'malformed Idempotency-Key', {
      userMessage: 'Idempotency-Key: must be 1 to 255 visible ASCII characters',
      details: { field: 'Idempotency-Key' },
    });
  return key;
}

function fingerprint(kind: string, input: Record<string, unknown>): string {
  const { wait: _w, waitSeconds: _s, ...rest } = input;
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify([kind, canonical(rest)]))
    .digest('hex');
}

async function replay<T>(
  ctx: Ctx,
  change: Change<T>,
  key: string,
  hash: string,
): Promise<{ operation: Operation; body: T } | undefined> {
  return withTenant(ctx.db, ctx.tenant.id, async (tx) => {
    const op = await operationByIdempotencyKey(tx, { tenantId: ctx.tenant.id, key });
    if (!op) return undefined;
    const first = await requestHashOf(tx, { tenantId: ctx.tenant.id, operationId: op.id });
    if (first !== hash)
      throw new AppError(ErrorCode.IDEMPOTENCY_KEY_REUSED, `key ${key} reused for ${change.kind}`, {
        userMessage: `Idempotency-Key: ${key} was already used for a different request (${op.kind}); use a new key for a new request.`,
        details: { field: 'Idempotency-Key', operationId: op.id },
      });
    return { operation: toOperation(op), body: await change.view(tx, op.targetId) };
  });
}

export async function accept<T>(
  ctx: Ctx,
  change: Change<T>,
  wait: { wait?: boolean; waitSeconds?: number },
): Promise<T & { operation: Operation }> {
  const key = idempotencyKeyOf(ctx);
  const hash = fingerprint(change.kind, change.input);
  let result = key ? await replay(ctx, change, key, hash) : undefined;
  if (!result) {
    try {
      result = await withTenant(ctx.db, ctx.tenant.id, async (tx) => {
        const { targetId, audit } = await change.run(tx);
        const op = await insertOperation(tx, {
          tenantId: ctx.tenant.id,
          kind: change.kind,
          targetType: change.targetType,
          targetId,
          idempotencyKey: key ?? null,
          requestId: ctx.requestId,
          actor: ctx.principal.subject,
          deadline: new Date(Date.now() + OPERATION_DEADLINE_MS),
        });
        await recordAudit(
          tx,
          auditOf(
            ctx,
            change.kind,
            { type: change.targetType, id: targetId },
            { ...audit, operationId: op.id, requestHash: hash },
          ),
        );
        return { operation: toOperation(op), body: await change.view(tx, targetId) };
      });
    } catch (e) {
      // A concurrent first request with the same key may have won while this one waited on a
      // lock (and then failed on its rows, e.g. the name): answer what the winner created.
      const winner = key ? await replay(ctx, change, key, hash) : undefined;
      if (winner) result = winner;
      else if (uniqueViolation(e) === 'operations_one_active_per_target')
        throw new AppError(ErrorCode.OPERATION_IN_PROGRESS, `${change.kind}: target busy`, {
          userMessage: `Another operation on this ${change.targetType} is still in progress; wait for it to finish.`,
          cause: e,
        });
      else throw e;
    }
  }
  let operation = result.operation;
  if ((wait.wait || ctx.waitQuery) && !isFinished(operation)) {
    operation =
      (await pollOperation(ctx.db, ctx.tenant.id, operation.id, waitSecondsOf(wait), isFinished)) ??
      operation;
    if (isFinished(operation))
      result.body = await withTenant(ctx.db, ctx.tenant.id, (tx) =>
        change.view(tx, operation.targetId),
      );
  }
  ctx.response.status = isFinished(operation) ? 200 : 202;
  return { ...result.body, operation };
}

/** OpenAPI for every accepted change: the Idempotency-Key header and what success means. */
export const ACCEPTED_OPENAPI = {
  requestHeaders: z.object({
    'idempotency-key': z
      .string()
      .max(255)
      .optional()
      .describe('Makes retries safe: a repeat answers the first result (docs/api/guide.md)'),
  }),
  successDescription:
    '202 Accepted with the operation; 200 when ?wait=true (or "wait": true) saw it end',
};
