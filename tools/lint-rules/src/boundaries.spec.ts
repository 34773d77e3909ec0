/**
 * The layering in STYLE.md is only real if the linter refuses to cross it. These cases lint source
 * text as if it sat at a path inside a project, with the workspace's real eslint.config.mjs.
 */
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '../../..');
const eslint = new ESLint({ cwd: root });

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

const usesDb = "import { createDb } from '@palisade/db';\nexport const x = createDb;\n";

describe('module boundaries', () => {
  it('a pure lib (contracts) may not import the database lib', async () => {
    expect(await problems('libs/contracts/src/boundary-case.ts', usesDb)).toEqual([
      expect.stringContaining('@nx/enforce-module-boundaries'),
    ]);
  });

  it('contracts may not do I/O', async () => {
    const p = await problems(
      'libs/contracts/src/boundary-case.ts',
      "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n",
    );
    expect(p).toEqual([expect.stringContaining('no-restricted-imports')]);
  });

  it('the agent may not import the database lib', async () => {
    expect(await problems('apps/agent/src/boundary-case.ts', usesDb)).toEqual([
      expect.stringMatching(/enforce-module-boundaries: .*scope:agent/),
    ]);
  });

  it('a lib may not import an app', async () => {
    const p = await problems(
      'libs/db/src/boundary-case.ts',
      "import { loadApiConfig } from '@palisade/api';\nexport const c = loadApiConfig;\n",
    );
    expect(p.some((m) => m.startsWith('@nx/enforce-module-boundaries'))).toBe(true);
  });

  it('only tests may use the test kit', async () => {
    const code = "import { loadStack } from '@palisade/testkit';\nexport const s = loadStack;\n";
    expect(await problems('libs/db/src/boundary-case.ts', code)).toEqual([
      expect.stringContaining('@nx/enforce-module-boundaries'),
    ]);
    expect(await problems('libs/db/src/boundary-case.int.spec.ts', code)).toEqual([]);
  });

  it('the API may use the database lib and contracts', async () => {
    const code = `${usesDb}import { ErrorCode } from '@palisade/contracts';\nexport const e = ErrorCode;\n`;
    expect(await problems('apps/api/src/boundary-case.ts', code)).toEqual([]);
  });
}, 60_000);
