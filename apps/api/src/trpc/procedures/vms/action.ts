/**
 * The one path of every VM lifecycle action (start, stop, reboot, force-off, resize, rebuild,
 * delete): lock the VM row, refuse while another operation runs on it or when the state machine
 * (libs/domain) says no, apply the action's own change (quota delta, new flavor or image), set
 * the desired state, and accept the operation.
 */
import type { VmAccepted } from '@palisade/contracts';
import {
  activeOperationOf,
  getVm,
  updateVm,
  type Tx,
  type VmInsert,
  type VmRow,
} from '@palisade/db';
import { canPerform, desiredStateAfter, type VmAction } from '@palisade/domain';
import { accept } from '../../../resources/accept';
import { busy, invalidState, notFound } from '../../../resources/errors';
import type { TrpcContext } from '../../context';
import type { TenantScope } from '../../trpc';
import { vmView } from './to-dto';

type Ctx = TrpcContext & { principal: NonNullable<TrpcContext['principal']>; tenant: TenantScope };

export const VM_ACTION_KIND: Record<VmAction, string> = {
  start: 'vm.start',
  stop: 'vm.stop',
  reboot: 'vm.reboot',
  forceOff: 'vm.force_off',
  resize: 'vm.resize',
  rebuild: 'vm.rebuild',
  delete: 'vm.delete',
  snapshot: 'vm.snapshot',
};

/** Locks the tenant's VM and checks the action is allowed now; throws the refusal otherwise. */
export async function lockVmFor(tx: Tx, tenantId: string, id: string, action: VmAction) {
  const vm = await getVm(tx, { tenantId, id, forUpdate: true });
  if (!vm) throw notFound('VM', id);
  const active = await activeOperationOf(tx, { tenantId, targetId: vm.id });
  if (active) throw busy('VM', active.kind, active.id);
  const can = canPerform(action, vm);
  if (!can.ok) throw invalidState(can.detail);
  return vm;
}

export function vmAction(
  ctx: Ctx,
  input: { id: string; wait?: boolean; waitSeconds?: number } & Record<string, unknown>,
  action: VmAction,
  apply?: (
    tx: Tx,
    vm: VmRow,
  ) => Promise<{ set?: Partial<VmInsert>; audit?: Record<string, unknown> }>,
): Promise<VmAccepted> {
  const tenantId = ctx.tenant.id;
  return accept(
    ctx,
    {
      kind: VM_ACTION_KIND[action],
      targetType: 'vm',
      input,
      run: async (tx) => {
        const vm = await lockVmFor(tx, tenantId, input.id, action);
        const extra = (await apply?.(tx, vm)) ?? {};
        await updateVm(tx, {
          tenantId,
          id: vm.id,
          set: { desiredState: desiredStateAfter(action, vm.desiredState), ...extra.set },
        });
        return { targetId: vm.id, audit: { name: vm.name, ...extra.audit } };
      },
      view: (tx, id) => vmView(tx, tenantId, id),
    },
    input,
  );
}
