/**
 * What every `Hypervisor` implementation checks about a disk key before using it. QEMU reads a
 * LUKS passphrase through `qcrypto_secret_lookup_as_utf8`, so key bytes that are not valid UTF-8
 * fail image creation with "Data from secret sec0 is not valid UTF-8" and, through libvirt, the
 * domain start (measured with QEMU 7.2). The control plane should generate keys as text, e.g.
 * 32 random bytes in base64. Never puts the key, or any part of it, in the error.
 */
import { AppError, ErrorCode } from '@palisade/contracts';
import { hypervisorError, HypervisorErrorKind } from './errors';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function checkLuksKey(key: Uint8Array, field: string): void {
  let ok = key.length > 0;
  if (ok) {
    try {
      utf8.decode(key);
    } catch {
      ok = false;
    }
  }
  if (!ok) {
    throw hypervisorError(
      HypervisorErrorKind.INVALID_KEY,
      `${field} must be non-empty valid UTF-8: QEMU reads LUKS passphrases as UTF-8 text`,
      { field },
    );
  }
}

const SNAPSHOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Snapshot names end up as qemu-img arguments and tags: a short, plain token only. */
export function checkSnapshotName(name: string): void {
  if (!SNAPSHOT_NAME.test(name)) {
    throw new AppError(
      ErrorCode.VALIDATION_FAILED,
      'name must be 1-64 characters of letters, digits, ".", "_" or "-", starting with a letter or digit',
      { details: { field: 'name' } },
    );
  }
}
