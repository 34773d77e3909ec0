import { Client } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb, schema, withPlatform } from '@palisade/db';
import { createThrowawayDatabase, type ThrowawayDatabase } from './database';
import { loadStack } from './stack';

describe('throw-away database (test stack Postgres)', () => {
  const stack = loadStack('test');
  let tmp: ThrowawayDatabase | undefined;

  afterAll(async () => {
    await tmp?.drop();
  });

  it('is migrated, usable by the runtime role under RLS, and gone after drop', async () => {
    tmp = await createThrowawayDatabase(stack, 'palisade_tk');
    expect(tmp.name).toMatch(/^palisade_tk_[0-9a-f]{8}$/);
    const db = createDb(tmp.appUrl, { max: 1 });
    try {
      const [t] = await withPlatform(db, 'testkit: throwaway db check', (tx) =>
        tx.insert(schema.tenants).values({ slug: 'testkit-tmp', name: 'Testkit' }).returning(),
      );
      expect(t?.slug).toBe('testkit-tmp');
      // The runtime role cannot create objects (same grants as the stack's own database).
      await expect(db.$client.query('CREATE TABLE nope (id int)')).rejects.toThrow(
        /permission denied/,
      );
    } finally {
      await db.$client.end();
    }
    await tmp.drop();
    const admin = new Client({ connectionString: stack.postgres.adminUrl });
    await admin.connect();
    const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [tmp.name]);
    await admin.end();
    expect(rows).toEqual([]);
    tmp = undefined;
  });
});
