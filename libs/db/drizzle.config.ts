// drizzle-kit only generates SQL from the schema here; it never connects. Migrations are applied
// by src/migrate.ts with the owner role, so the runtime role never needs DDL rights.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './libs/db/src/schema/index.ts',
  out: './libs/db/migrations',
  casing: 'snake_case',
});
