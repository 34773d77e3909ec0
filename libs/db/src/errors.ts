/** Recognises Postgres errors that are expected outcomes, not broken invariants. */

/** The constraint a unique violation (SQLSTATE 23505) hit, or null for any other error. */
export function uniqueViolation(e: unknown): string | null {
  const err = (e as { cause?: unknown })?.cause ?? e;
  const pg = err as { code?: unknown; constraint?: unknown };
  return pg?.code === '23505' ? String(pg.constraint ?? 'unique') : null;
}
