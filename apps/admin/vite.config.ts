import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';
import { sharedTest } from '../../vitest.shared';

// The Keycloak client accepts only exact redirect URIs (http://localhost:5174/ for dev,
// http://localhost:15174/ for the e2e tests), hence strictPort: another port could never log in.
export default defineConfig({
  plugins: [react()],
  server: { port: 5174, strictPort: true, host: 'localhost' },
  preview: { port: 5174, strictPort: true, host: 'localhost' },
  build: {
    sourcemap: true,
    rollupOptions: {
      output: {
        // Libraries change less often than the app: separate chunks stay cached across releases.
        manualChunks(id) {
          if (!id.includes('/node_modules/')) return undefined;
          if (/\/node_modules\/(react|react-dom|scheduler|@tanstack)\//.test(id)) return 'react';
          if (id.includes('/node_modules/keycloak-js/')) return 'keycloak';
          return 'vendor';
        },
      },
    },
  },
  test: { ...sharedTest, include: ['src/**/*.spec.ts', 'src/**/*.spec.tsx'] },
});
