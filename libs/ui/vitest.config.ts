import { defineConfig } from 'vitest/config';
import { sharedTest } from '../../vitest.shared';

export default defineConfig({
  // React 19's automatic JSX runtime; the apps get the same from @vitejs/plugin-react.
  esbuild: { jsx: 'automatic' },
  test: { ...sharedTest, include: ['src/**/*.spec.ts', 'src/**/*.spec.tsx'] },
});
