import { z } from 'zod';
import { meOutputSchema, PLATFORM_ADMIN_ROLE } from '@palisade/contracts';
import { authedProcedure } from '../trpc';

/** Who am I: the verified principal behind the access token. */
export const me = authedProcedure
  .meta({
    openapi: { method: 'GET', path: '/me', protect: true, tags: ['identity'], summary: 'Who am I' },
  })
  .input(z.void())
  .output(meOutputSchema)
  .query(({ ctx }) => ({
    principal: ctx.principal,
    isPlatformAdmin: ctx.principal.roles.includes(PLATFORM_ADMIN_ROLE),
  }));
