import { z } from 'zod';
import { hostSchema } from '@palisade/contracts';
import { listHosts, withPlatform } from '@palisade/db';
import { platformProcedure } from '../../trpc';
import { toHost } from './to-dto';

/** Every host, enrolled or waiting for its agent, by name (operators). */
export const list = platformProcedure('platform.host.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/admin/hosts',
      protect: true,
      tags: ['admin: hosts'],
      summary: 'List hosts',
    },
  })
  .input(z.void())
  .output(z.array(hostSchema))
  .query(async ({ ctx }) =>
    (await withPlatform(ctx.db, 'list hosts', (tx) => listHosts(tx))).map(toHost),
  );
