/**
 * A throw-away Palisade database on the test stack's Postgres, for suites that run real worker
 * processes: a worker's outbox relay picks up EVERY pending operation in its database, so such a
 * suite must not share `palisade` with the others running at the same time.
 *
 * Created by the cluster's superuser (the owner role has NOCREATEDB), owned by the owner role,
 * migrated with the production migration runner, with the same grants as the stack's own
 * database; dropped (WITH FORCE: a SIGKILLed worker's sessions may linger) by `drop()`.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { runMigrations } from '@palisade/db';
import type { StackInfo } from './stack';

export interface ThrowawayDatabase {
  name: string;
  /** Owner role (migrations, fixtures that need DDL rights). */
  ownerUrl: string;
  /** Runtime role (subject to row-level security): what the API and workers connect as. */
  appUrl: string;
  drop(): Promise<void>;
}

const withDatabase = (url: string, name: string) => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

async function asSuperuser(url: string, sql: string[]): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    for (const statement of sql) await client.query(statement);
  } finally {
    await client.end();
  }
}

export async function createThrowawayDatabase(
  stack: Pick<StackInfo, 'postgres'>,
  prefix = 'palisade_tmp',
): Promise<ThrowawayDatabase> {
  const { adminUrl, ownerUrl, appUrl } = stack.postgres;
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${name}`);
  const owner = new URL(ownerUrl).username;
  const app = new URL(appUrl).username;
  await asSuperuser(adminUrl, [
    `CREATE DATABASE ${name} OWNER ${owner}`,
    `REVOKE CONNECT, TEMPORARY ON DATABASE ${name} FROM PUBLIC`,
    `GRANT CONNECT ON DATABASE ${name} TO ${owner}, ${app}`,
  ]);
  const db = {
    name,
    ownerUrl: withDatabase(ownerUrl, name),
    appUrl: withDatabase(appUrl, name),
    drop: () => asSuperuser(adminUrl, [`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]),
  };
  try {
    // As the stack's bootstrap does for `palisade`: only the owner creates objects.
    await asSuperuser(withDatabase(adminUrl, name), ['REVOKE CREATE ON SCHEMA public FROM PUBLIC']);
    await runMigrations(db.ownerUrl);
  } catch (e) {
    await db.drop();
    throw e;
  }
  return db;
}
