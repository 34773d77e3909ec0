import type { Vm } from '@palisade/contracts';
import {
  getVm,
  nicsOf,
  sshKeysOfVms,
  type NicRow,
  type Tx,
  type VmRow,
  type VmSshKeyRow,
} from '@palisade/db';
import { notFound } from '../../../resources/errors';

/** node-postgres returns inet as "10.0.0.5" or "10.0.0.5/32"; tenants see the address. */
export const hostAddress = (ip: string) => ip.replace(/\/32$/, '');

/** The rows a VM's answer is built from besides its own: its NICs and its SSH keys. */
export interface VmParts {
  nics: NicRow[];
  keys: VmSshKeyRow[];
}

/** Loads the parts of these VMs, one query each (a transaction is one connection). */
export async function vmParts(tx: Tx, tenantId: string, vmIds: string[]): Promise<VmParts> {
  const nics = await nicsOf(tx, { tenantId, vmIds });
  const keys = await sshKeysOfVms(tx, { tenantId, vmIds });
  return { nics, keys };
}

export const toVm = (r: VmRow, parts: VmParts): Vm => ({
  id: r.id,
  name: r.name,
  flavorId: r.flavorId,
  imageId: r.imageId,
  desiredState: r.desiredState,
  observedState: r.observedState,
  tags: r.tags,
  restartPolicy: r.restartPolicy,
  nics: parts.nics
    .filter((n) => n.vmId === r.id)
    .map((n) => ({ networkId: n.networkId, mac: n.mac, ip: hostAddress(n.ip) })),
  mcs: r.mcsC1 === null || r.mcsC2 === null ? null : `c${r.mcsC1},c${r.mcsC2}`,
  sshKeys: parts.keys
    .filter((k) => k.vmId === r.id)
    .map((k) => ({ id: k.sshKeyId, name: k.name, fingerprint: k.fingerprint })),
  weakenings: r.weakenings,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});

/** The VM as an accepted change answers it (a deleted VM included: the answer to its delete). */
export async function vmView(tx: Tx, tenantId: string, id: string): Promise<{ vm: Vm }> {
  const row = await getVm(tx, { tenantId, id, includeDeleted: true });
  if (!row) throw notFound('VM', id);
  return { vm: toVm(row, await vmParts(tx, tenantId, [row.id])) };
}
