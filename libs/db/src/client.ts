/**
 * Database handles. The API and workers connect as the runtime role (no DDL, subject to row-level
 * security); only migrations use the owner role. This module never reads process.env: callers pass
 * the URL from their validated config.
 */
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { Pool, type PoolConfig } from 'pg';
import * as schema from './schema';

export type Db = NodePgDatabase<typeof schema> & { $client: Pool };

export function createDb(url: string, pool: Omit<PoolConfig, 'connectionString'> = {}): Db {
  const client = new Pool({ connectionString: url, max: 10, ...pool });
  return drizzle({ client, schema, casing: 'snake_case' });
}

/** Readiness probe: one round trip, with a bound on how long it may take. */
export async function pingDb(db: Db, timeoutMs = 2000): Promise<void> {
  const client = await db.$client.connect();
  try {
    await client.query({ text: `SET statement_timeout = ${Math.trunc(timeoutMs)}` });
    await client.query('SELECT 1');
  } finally {
    client.release();
  }
}
