// Test settings every project's vitest.config.ts spreads into its `test` block. When `npm test`
// runs (PALISADE_TEST_REPORT=1) each project also writes test-report.json, which the runner sums
// into one closing line across the workspace.
import type { ViteUserConfig } from 'vitest/config';

type TestOptions = NonNullable<ViteUserConfig['test']>;

export const sharedTest: TestOptions = process.env.PALISADE_TEST_REPORT
  ? { reporters: ['default', 'json'], outputFile: { json: 'test-report.json' } }
  : {};
