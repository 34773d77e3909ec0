/**
 * Which disks a snapshot covers and with which keys, shared by every `Hypervisor` implementation
 * so they refuse the same requests: the qcow2 disks (`device='disk'`) of the persistent
 * definition; raw disks (the NoCloud seed) and CD-ROMs are not snapshotted. Never echoes a key.
 */
import { AppError, ErrorCode } from '@palisade/contracts';
import type { Domain } from '../domain/domain';
import type { DiskKeys } from '../hypervisor';
import { checkLuksKey } from './keys';

export interface SnapshotDisk {
  path: string;
  /** Set for an encrypted disk; the key comes from `keys[secretUuid]`. */
  secretUuid?: string;
  key?: Uint8Array;
}

/** The disks to snapshot; with `keys`, every encrypted disk must have a usable key. */
export function snapshotDisks(domain: Domain, keys?: DiskKeys): SnapshotDisk[] {
  const disks = domain.devices.disks.filter(
    (d) => d.device === 'disk' && d.driver.type === 'qcow2',
  );
  if (disks.length === 0) {
    throw new AppError(
      ErrorCode.VALIDATION_FAILED,
      `domain '${domain.name}' has no qcow2 disk to snapshot`,
      { details: { field: 'uuid', uuid: domain.uuid } },
    );
  }
  const byLowerUuid = new Map(Object.entries(keys ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  return disks.map((d) => {
    const secretUuid = d.encryption?.secretUuid.toLowerCase();
    if (secretUuid === undefined) return { path: d.sourceFile };
    if (!keys) return { path: d.sourceFile, secretUuid };
    const key = byLowerUuid.get(secretUuid) ?? new Uint8Array();
    checkLuksKey(key, `keys.${secretUuid}`);
    return { path: d.sourceFile, secretUuid, key };
  });
}
