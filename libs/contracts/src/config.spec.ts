import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { parseEnv, redactConfig, redactValue } from './config';

const schema = z.object({
  PORT: z.coerce.number().int().min(1).max(65535),
  DATABASE_URL: z.url(),
  MODE: z.enum(['a', 'b']).default('a'),
});

describe('parseEnv', () => {
  it('returns a frozen, typed value when every variable is valid', () => {
    const r = parseEnv(schema, { PORT: '3000', DATABASE_URL: 'postgres://u:p@h:1/d' });
    expect(r).toEqual({
      ok: true,
      value: { PORT: 3000, DATABASE_URL: 'postgres://u:p@h:1/d', MODE: 'a' },
    });
    expect(r.ok && Object.isFrozen(r.value)).toBe(true);
  });

  it('names every bad variable at once, without echoing passwords', () => {
    const r = parseEnv(schema, { PORT: '70000', DATABASE_URL: 'nope', MODE: 'c' });
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^PORT: .*\(got "70000"\)$/);
    expect(problems[1]).toMatch(/^DATABASE_URL: /);
    expect(problems[2]).toMatch(/^MODE: /);
  });

  it('reports a missing variable by name', () => {
    const r = parseEnv(schema, { DATABASE_URL: 'postgres://h/d' });
    expect(r.ok ? [] : r.problems).toEqual([expect.stringMatching(/^PORT: /)]);
  });
});

describe('redaction', () => {
  it('masks URL passwords and secret-named variables', () => {
    expect(redactValue('DATABASE_URL', 'postgres://app:s3cret@127.0.0.1:5432/db')).toBe(
      'postgres://app:[redacted]@127.0.0.1:5432/db',
    );
    expect(redactValue('KEYCLOAK_ADMIN_PASSWORD', 'x')).toBe('[redacted]');
    expect(redactConfig({ A: 'redis://h:1', N: 3 })).toEqual({ A: 'redis://h:1', N: 3 });
  });
});
