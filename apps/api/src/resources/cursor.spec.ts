import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@palisade/contracts';
import { decodeCursor, encodeCursor } from './cursor';

describe('list cursors', () => {
  const position = {
    ts: '2026-11-21T20:17:22.123456Z',
    id: '0b9c5a52-3f0e-4c1e-9d7f-2a1b3c4d5e6f',
  };

  it('round-trips a position with microseconds, opaque to clients', () => {
    const cursor = encodeCursor(position)!;
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(position);
    expect(encodeCursor(null)).toBeNull();
    expect(decodeCursor(undefined)).toBeUndefined();
    expect(decodeCursor('')).toBeUndefined();
  });

  it.each([
    'garbage',
    Buffer.from('{"ts":1}').toString('base64url'),
    Buffer.from(JSON.stringify(['2026-11-21', position.id])).toString('base64url'),
    Buffer.from(JSON.stringify([position.ts, "'; drop table vms; --"])).toString('base64url'),
  ])('refuses %j as a validation error naming the field', (cursor) => {
    expect(() => decodeCursor(cursor)).toThrowError(
      expect.objectContaining({
        code: ErrorCode.VALIDATION_FAILED,
        details: { field: 'cursor' },
        userMessage: expect.stringMatching(/^cursor: /),
      }),
    );
  });
});
