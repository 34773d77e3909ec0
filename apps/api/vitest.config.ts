import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
import { sharedTest } from '../../vitest.shared';

// Nest resolves injected constructor parameters from decorator metadata, which esbuild (vitest's
// default transform) does not emit; SWC does.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: { ...sharedTest, include: ['src/**/*.spec.ts'], testTimeout: 60_000, hookTimeout: 120_000 },
});
