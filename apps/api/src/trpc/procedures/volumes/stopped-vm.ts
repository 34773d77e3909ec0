/**
 * Attach, detach and extend change a VM's disks while it is stopped: there is no hot-plug (the
 * worker redefines the stopped domain, and the host grows a file no guest has open;
 * docs/operations/volumes.md). Checked here so a tenant hears it at once; the worker checks the
 * host again, because a start may still be on its way there.
 */
import { activeOperationOf, type Tx, type VmRow } from '@palisade/db';
import { busy, invalidState } from '../../../resources/errors';

export async function requireStoppedVm(tx: Tx, vm: VmRow, verb: 'attach' | 'detach' | 'extend') {
  const active = await activeOperationOf(tx, { tenantId: vm.tenantId, targetId: vm.id });
  if (active) throw busy('VM', active.kind, active.id);
  if (vm.observedState !== 'stopped')
    throw invalidState(
      `VM ${vm.name} is ${vm.observedState}; stop it to ${verb} a volume (no hot-plug: a VM's volumes change only while it is stopped)`,
    );
}
