import { describe, expect, it } from 'vitest';
import { PERMISSIONS } from '@palisade/auth';
import { appRouter } from './router';
import type { ProcedureMeta } from './trpc';

/**
 * Every procedure must say who may call it. A procedure built straight from `t.procedure`, or one
 * that names a permission the policy table lacks, fails here before it can ship.
 */
describe('router access declarations', () => {
  const procedures = Object.entries(
    appRouter._def.procedures as unknown as Record<string, { _def: { meta?: ProcedureMeta } }>,
  );

  it('has procedures to check', () => {
    expect(procedures.length).toBeGreaterThan(0);
  });

  it.each(procedures)('%s declares its access', (_path, procedure) => {
    const access = procedure._def.meta?.access;
    expect(
      access,
      'use publicProcedure, authedProcedure or platformProcedure(permission)',
    ).toBeDefined();
    if (access?.kind === 'permission')
      expect(Object.keys(PERMISSIONS)).toContain(access.permission);
  });
});
