import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';
import { sharedTest } from '../../vitest.shared';

// The Keycloak client accepts only exact redirect URIs on these ports, hence strictPort.
export default defineConfig({
  plugins: [react()],
  server: { port: 5174, strictPort: true, host: 'localhost' },
  preview: { port: 5174, strictPort: true, host: 'localhost' },
  build: { sourcemap: true },
  test: { ...sharedTest, include: ['src/**/*.spec.ts'] },
});
