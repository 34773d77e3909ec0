import { describe, expect, it } from 'vitest';
import { FailureLimiter } from './failure-limiter';

describe('FailureLimiter', () => {
  it('blocks an address after `limit` failures in the window and frees it when they age out', () => {
    let now = 1_000_000;
    const limiter = new FailureLimiter(3, 60_000, () => now);
    for (let i = 0; i < 3; i++) {
      expect(limiter.blocked('10.0.0.1')).toBe(false);
      limiter.fail('10.0.0.1');
      now += 1000;
    }
    expect(limiter.blocked('10.0.0.1')).toBe(true);
    // Another address is not affected.
    expect(limiter.blocked('10.0.0.2')).toBe(false);
    now += 58_000; // the first failure is now 60 s old
    expect(limiter.blocked('10.0.0.1')).toBe(false);
  });
});
