/**
 * Join tokens: `pjt.<row id>.<secret>`. The row id finds the row; the secret is never stored, only
 * its SHA-256, and it is compared in constant time so response timing says nothing about it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { JOIN_TOKEN_PATTERN } from '@palisade/contracts';

export const newSecret = () => randomBytes(32).toString('base64url');
export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');
export const formatToken = (id: string, secret: string) => `pjt.${id}.${secret}`;

export function parseToken(token: string): { id: string; secret: string } | null {
  if (!JOIN_TOKEN_PATTERN.test(token)) return null;
  const [, id, secret] = token.split('.');
  return { id: id!, secret: secret! };
}

/** Constant-time comparison of a presented secret with a stored hash (hex SHA-256). */
export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A hash no secret produces in practice, compared against when no row exists, to keep the timing. */
export const NO_ROW_HASH = '0'.repeat(64);
