import { defineConfig } from 'vitest/config';
import { sharedTest } from '../vitest.shared';

export default defineConfig({
  test: {
    ...sharedTest,
    include: ['src/**/*.e2e.ts'],
    globalSetup: ['src/global-setup.ts'],
    // One browser, one API: the files share them, so run them one after another.
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 300_000,
  },
});
