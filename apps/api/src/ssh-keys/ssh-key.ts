import { createHash } from 'node:crypto';
import { AppError, ErrorCode } from '@palisade/contracts';

/**
 * Checks that an OpenSSH public key line is what it claims (the blob's own type string matches
 * the declared type) and computes its SHA256 fingerprint the way `ssh-keygen -lf` prints it.
 */
export function fingerprintOf(publicKey: string): { normalized: string; fingerprint: string } {
  const [type, b64, ...comment] = publicKey.trim().split(/\s+/);
  const blob = Buffer.from(b64 ?? '', 'base64');
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  const embedded =
    len > 0 && len + 4 <= blob.length ? blob.subarray(4, 4 + len).toString('latin1') : null;
  if (embedded !== type) {
    throw new AppError(
      ErrorCode.VALIDATION_FAILED,
      `ssh key blob type ${embedded} does not match ${type}`,
      {
        userMessage: 'publicKey: the key data does not match its declared type',
        details: { field: 'publicKey' },
      },
    );
  }
  const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
  return { normalized: [type, b64, ...comment].join(' '), fingerprint };
}
