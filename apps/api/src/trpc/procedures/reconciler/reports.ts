import { reconcileReportListInput, reconcileReportListOutput } from '@palisade/contracts';
import { listReconcileReports, withPlatform } from '@palisade/db';
import { decodeCursor, pageResult } from '../../../resources/cursor';
import { platformProcedure } from '../../trpc';
import { toReport } from './to-dto';

/** The reconciler's passes, newest first: what each found and did (operators). */
export const reports = platformProcedure('platform.host.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/admin/reconciler/reports',
      protect: true,
      tags: ['admin: reconciler'],
      summary: 'List reconciler reports',
      description:
        'One report per pass: hosts checked, VMs restarted or left off, quarantine counts, deadline sweeps and quota corrections (docs/operations/reconciler.md).',
    },
  })
  .input(reconcileReportListInput)
  .output(reconcileReportListOutput)
  .query(({ ctx, input }) => {
    const after = decodeCursor(input.cursor);
    return withPlatform(ctx.db, 'list reconciler reports', async (tx) =>
      pageResult(await listReconcileReports(tx, { limit: input.limit, after }), toReport),
    );
  });
