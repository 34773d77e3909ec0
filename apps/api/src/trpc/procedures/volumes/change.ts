/**
 * The one path of volume changes after create (attach, detach, extend, delete): lock the volume,
 * refuse while another operation runs on it, apply the change, accept the operation.
 */
import type { z } from 'zod';
import type { volumeAcceptedSchema } from '@palisade/contracts';
import { activeOperationOf, getVolume, updateVolume, type Tx, type VolumeRow } from '@palisade/db';
import { accept } from '../../../resources/accept';
import { busy, notFound } from '../../../resources/errors';
import type { TrpcContext } from '../../context';
import type { TenantScope } from '../../trpc';
import { volumeView } from './to-dto';

type Ctx = TrpcContext & { principal: NonNullable<TrpcContext['principal']>; tenant: TenantScope };

export function volumeChange(
  ctx: Ctx,
  kind: string,
  input: { id: string; wait?: boolean; waitSeconds?: number } & Record<string, unknown>,
  apply: (
    tx: Tx,
    volume: VolumeRow,
  ) => Promise<{ set: Parameters<typeof updateVolume>[1]['set']; audit?: Record<string, unknown> }>,
): Promise<z.infer<typeof volumeAcceptedSchema>> {
  const tenantId = ctx.tenant.id;
  return accept(
    ctx,
    {
      kind,
      targetType: 'volume',
      input,
      run: async (tx) => {
        const volume = await getVolume(tx, { tenantId, id: input.id, forUpdate: true });
        if (!volume) throw notFound('volume', input.id);
        const active = await activeOperationOf(tx, { tenantId, targetId: volume.id });
        if (active) throw busy('volume', active.kind, active.id);
        const { set, audit } = await apply(tx, volume);
        await updateVolume(tx, { tenantId, id: volume.id, set });
        return { targetId: volume.id, audit: { name: volume.name, ...audit } };
      },
      view: (tx, id) => volumeView(tx, tenantId, id),
    },
    input,
  );
}
