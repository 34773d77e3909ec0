import { defineConfig } from 'vitest/config';
import { sharedTest } from '../../vitest.shared';

// The integration test builds the image (minutes when the cache is cold) and boots it under TCG;
// files run one by one so two TCG guests never fight over the machine's two cores.
export default defineConfig({
  test: {
    ...sharedTest,
    include: ['src/**/*.spec.ts'],
    testTimeout: 60_000,
    fileParallelism: false,
  },
});
