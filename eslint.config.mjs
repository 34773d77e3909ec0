// One lint config for the whole workspace. The module-boundary rule is where the layering in
// STYLE.md is enforced: apps depend on libs, never the reverse; contracts/domain stay pure; the
// agent never sees the database; the UIs see only contracts, ui and the API's router *type*.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

const pureLibBans = {
  patterns: [
    {
      group: [
        'node:*',
        'fs',
        'child_process',
        'net',
        'http',
        'https',
        '@nestjs/*',
        'drizzle-orm*',
        'bullmq',
        'ioredis',
        'pg',
      ],
      message: 'contracts and domain are pure: no I/O, no framework imports (see STYLE.md).',
    },
  ],
};

const depConstraints = [
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:ui', onlyDependOnLibsWithTags: ['scope:ui', 'scope:shared'] },
  { sourceTag: 'scope:agent', onlyDependOnLibsWithTags: ['scope:agent', 'scope:shared'] },
  { sourceTag: 'scope:server', onlyDependOnLibsWithTags: ['scope:server', 'scope:shared'] },
  {
    sourceTag: 'type:lib',
    notDependOnLibsWithTags: ['type:app', 'type:testkit', 'type:e2e', 'type:tool'],
  },
  { sourceTag: 'type:app', notDependOnLibsWithTags: ['type:app', 'type:e2e'] },
  { sourceTag: 'type:testkit', notDependOnLibsWithTags: ['type:app', 'type:e2e'] },
  // Tools and the browser tests may use any lib (the e2e suite drives the apps as processes).
  { sourceTag: 'type:tool', notDependOnLibsWithTags: ['type:app', 'type:e2e'] },
  { sourceTag: 'type:e2e', notDependOnLibsWithTags: ['type:app'] },
];

// Tests may use the test kit (real-service harnesses), whatever project they sit in; nothing else may.
const testDepConstraints = depConstraints
  .map((c) =>
    c.notDependOnLibsWithTags
      ? {
          ...c,
          notDependOnLibsWithTags: c.notDependOnLibsWithTags.filter((t) => t !== 'type:testkit'),
        }
      : c,
  )
  .map((c) =>
    c.onlyDependOnLibsWithTags
      ? { ...c, onlyDependOnLibsWithTags: [...c.onlyDependOnLibsWithTags, 'type:testkit'] }
      : c,
  );

const boundaries = (constraints) => [
  'error',
  {
    enforceBuildableLibDependency: false,
    allowCircularSelfDependency: false,
    // The UIs import the API router as a type only (tRPC end-to-end types). Nothing of the
    // API's runtime reaches the browser bundle: Vite erases type-only imports.
    allow: ['@palisade/api/router'],
    depConstraints: constraints,
  },
];

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/.data/**',
      '**/.nx/**',
      'libs/db/migrations/**',
      '**/vite.config.ts.timestamp-*',
    ],
  },
  ...tseslint.configs.recommended,
  prettier,
  {
    plugins: { '@nx': nx },
    files: ['**/*.ts', '**/*.tsx', '**/*.mjs'],
    rules: {
      '@nx/enforce-module-boundaries': boundaries(depConstraints),
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
    },
  },
  {
    files: ['libs/contracts/src/**/*.ts', 'libs/domain/src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: { 'no-restricted-imports': ['error', pureLibBans] },
  },
  {
    // Nest resolves constructor parameters from emitted decorator metadata, so an injected class
    // must stay a value import even when it is only used as a type.
    files: ['apps/api/**/*.ts', 'apps/worker/**/*.ts', 'apps/agent/**/*.ts'],
    rules: { '@typescript-eslint/consistent-type-imports': 'off' },
  },
  {
    // Build and test configuration may reach the workspace's shared settings (vitest.shared.ts).
    files: ['**/vitest.config.ts', '**/vite.config.ts'],
    rules: { '@nx/enforce-module-boundaries': 'off' },
  },
  {
    files: ['**/*.spec.ts', '**/*.spec.tsx', 'e2e/**/*.ts'],
    ignores: ['**/vitest.config.ts', '**/vite.config.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(testDepConstraints) },
  },
);
