/**
 * Applies the drizzle-kit migrations in libs/db/migrations with the owner role. Idempotent: applied
 * migrations are recorded in drizzle's journal table and skipped.
 */
import path from 'node:path';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { createDb } from './client';

export const MIGRATIONS_DIR = path.resolve(__dirname, '../migrations');

export async function runMigrations(ownerUrl: string): Promise<void> {
  const db = createDb(ownerUrl, { max: 1 });
  try {
    await migrate(db, { migrationsFolder: MIGRATIONS_DIR, migrationsSchema: 'drizzle' });
  } finally {
    await db.$client.end();
  }
}
