/**
 * LUKS keys of volumes: one random key per volume, stored only wrapped (AES-256-GCM) in
 * `volumes.wrapped_key`. The wrapping key is per tenant, derived with HKDF-SHA256 from the master
 * key (VOLUME_MASTER_KEY, from config or a KMS) and the tenant ID, so one tenant's keys can be
 * re-wrapped or destroyed without touching another's. The volume ID is the GCM associated data:
 * a wrapped key copied onto another row does not unwrap.
 *
 * Crypto-erase: nulling `wrapped_key` makes the volume's data unreadable everywhere at once (the
 * host holds the key only in an ephemeral libvirt secret, gone at the next libvirtd restart and
 * undefined by the delete workflow); the file is removed after.
 *
 * Must never: log, return in errors, or put in job data a key or an unwrapped key.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 1;

function tenantKey(master: Buffer, tenantId: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', master, Buffer.from(tenantId), 'palisade/volume-keys/v1', 32),
  );
}

/** A new volume key: base64 of 32 random bytes (QEMU reads LUKS passphrases as UTF-8 text). */
export function newVolumeKey(): string {
  return randomBytes(32).toString('base64');
}

export function wrapVolumeKey(
  master: Buffer,
  p: { tenantId: string; volumeId: string; key: string },
): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', tenantKey(master, p.tenantId), iv);
  c.setAAD(Buffer.from(p.volumeId));
  const body = Buffer.concat([c.update(p.key, 'utf8'), c.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, c.getAuthTag(), body]);
}

export function unwrapVolumeKey(
  master: Buffer,
  p: { tenantId: string; volumeId: string; wrapped: Buffer },
): string {
  if (p.wrapped[0] !== VERSION) throw new Error(`volume ${p.volumeId}: unknown key wrapping`);
  const iv = p.wrapped.subarray(1, 13);
  const tag = p.wrapped.subarray(13, 29);
  const d = createDecipheriv('aes-256-gcm', tenantKey(master, p.tenantId), iv);
  d.setAAD(Buffer.from(p.volumeId));
  d.setAuthTag(tag);
  return Buffer.concat([d.update(p.wrapped.subarray(29)), d.final()]).toString('utf8');
}
