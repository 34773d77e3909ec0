import { describe, expect, it } from 'vitest';
import { ZodError } from 'zod';
import { workerConfigSchema } from '../config';
import { HeartbeatProcessor } from './heartbeat.processor';

const processor = new HeartbeatProcessor(
  workerConfigSchema.parse({
    REDIS_URL: 'redis://127.0.0.1:1',
    DATABASE_URL: 'postgres://x@127.0.0.1:1/x',
    WORKER_ID: 'w1',
  }),
);

describe('HeartbeatProcessor', () => {
  it('reports the pickup lag in milliseconds', () => {
    const r = processor.process(
      { requestedAt: '2026-01-01T00:00:00.000Z' },
      new Date('2026-01-01T00:00:01.250Z'),
    );
    expect(r).toEqual({
      workerId: 'w1',
      requestedAt: '2026-01-01T00:00:00.000Z',
      processedAt: '2026-01-01T00:00:01.250Z',
      lagMs: 1250,
    });
  });

  it('never reports a negative lag when clocks disagree', () => {
    expect(
      processor.process(
        { requestedAt: '2026-01-01T00:00:05.000Z' },
        new Date('2026-01-01T00:00:00.000Z'),
      ).lagMs,
    ).toBe(0);
  });

  it('rejects a payload that is not a heartbeat', () => {
    expect(() => processor.process({ requestedAt: 42 })).toThrow(ZodError);
  });
});
