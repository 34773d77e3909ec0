import { defineConfig } from 'vitest/config';
import { sharedTest } from '../../vitest.shared';

// The integration test starts and stops real services of its own profile; run files one by one.
export default defineConfig({
  test: {
    ...sharedTest,
    include: ['src/**/*.spec.ts'],
    testTimeout: 120_000,
    fileParallelism: false,
  },
});
