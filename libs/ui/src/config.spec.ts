import { describe, expect, it } from 'vitest';
import { parseUiConfig } from './config';

describe('parseUiConfig', () => {
  it('normalises URLs and defaults the realm', () => {
    expect(
      parseUiConfig({
        VITE_API_URL: 'http://localhost:3000/',
        VITE_KEYCLOAK_URL: 'http://localhost:18080',
      }),
    ).toEqual({
      ok: true,
      config: {
        apiUrl: 'http://localhost:3000',
        keycloakUrl: 'http://localhost:18080',
        realm: 'palisade',
      },
    });
  });

  it('names every bad variable', () => {
    const r = parseUiConfig({ VITE_API_URL: 'not a url', VITE_KEYCLOAK_REALM: 'Bad Realm' });
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'VITE_API_URL',
      'VITE_KEYCLOAK_URL',
      'VITE_KEYCLOAK_REALM',
    ]);
  });
});
