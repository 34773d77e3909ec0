/** The refusals resource procedures share, worded the same everywhere. */
import { AppError, ErrorCode } from '@palisade/contracts';
import { uniqueViolation } from '@palisade/db';

/**
 * Not found, naming the field that pointed at it when there is one. Another tenant's object is
 * answered exactly like a missing one.
 */
export function notFound(what: string, id: string, field?: string): AppError {
  return new AppError(ErrorCode.NOT_FOUND, `${what} ${id} not found in tenant`, {
    userMessage: field
      ? `${field}: no ${what} ${id}`
      : `${what[0]!.toUpperCase()}${what.slice(1)} not found.`,
    ...(field ? { details: { field } } : {}),
  });
}

export function invalidState(detail: string): AppError {
  return new AppError(ErrorCode.INVALID_STATE, detail, {
    userMessage: `${detail[0]!.toUpperCase()}${detail.slice(1)}.`,
  });
}

export function busy(what: string, kind: string, operationId: string): AppError {
  return new AppError(ErrorCode.OPERATION_IN_PROGRESS, `${what} busy with ${kind}`, {
    userMessage: `The ${what} has a ${kind} operation in progress (${operationId}); wait for it to finish.`,
    details: { operationId },
  });
}

/** Turns a name collision into a 409 that names the field; anything else is rethrown. */
export function nameConflict(e: unknown, constraint: string, what: string, name: string): never {
  if (uniqueViolation(e) === constraint)
    throw new AppError(ErrorCode.CONFLICT, `${what} ${name} exists`, {
      userMessage: `name: a ${what} named ${name} already exists`,
      details: { field: 'name' },
      cause: e,
    });
  throw e;
}
