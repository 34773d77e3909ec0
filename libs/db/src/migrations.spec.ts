import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../../..');

describe('migrations', () => {
  it('match the drizzle schema exactly (no pending schema change)', () => {
    // Generate against a copy of the migrations folder so a drift never writes into the repo.
    // drizzle-kit prefixes `out` with './', so it must be relative to the working directory.
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'palisade-drift-'));
    try {
      cpSync(path.join(root, 'libs/db/migrations'), path.join(tmp, 'migrations'), {
        recursive: true,
      });
      const config = path.join(tmp, 'drizzle.config.ts');
      writeFileSync(
        config,
        `export default { dialect: 'postgresql', casing: 'snake_case', schema: ${JSON.stringify(
          path.join(root, 'libs/db/src/schema/index.ts'),
        )}, out: 'migrations' };\n`,
      );
      const before = readdirSync(path.join(tmp, 'migrations')).length;
      const out = execFileSync(
        path.join(root, 'node_modules/.bin/drizzle-kit'),
        ['generate', '--config', config],
        { cwd: tmp, encoding: 'utf8', env: { ...process.env, CI: 'true' } },
      );
      expect(out).toContain('No schema changes');
      expect(readdirSync(path.join(tmp, 'migrations')).length).toBe(before);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 60_000);
});
