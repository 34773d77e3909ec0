import { describe, expect, it } from 'vitest';
import { parseUiConfig } from './config';

describe('parseUiConfig', () => {
  it('accepts the dev settings, trims trailing slashes and defaults the realm', () => {
    expect(
      parseUiConfig({
        VITE_API_URL: 'http://localhost:3000/',
        VITE_KEYCLOAK_URL: 'http://localhost:18080',
        DEV: true, // Vite's own booleans are ignored
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

  it('returns a frozen config', () => {
    const r = parseUiConfig({
      VITE_API_URL: 'https://api.example.test',
      VITE_KEYCLOAK_URL: 'https://id.example.test',
      VITE_KEYCLOAK_REALM: 'other',
    });
    expect(r.ok && Object.isFrozen(r.config)).toBe(true);
    expect(r.ok && r.config.realm).toBe('other');
  });

  it('names every bad variable at once, with the value it got', () => {
    const r = parseUiConfig({ VITE_API_URL: 'not a url', VITE_KEYCLOAK_REALM: 'Bad Realm' });
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'VITE_API_URL',
      'VITE_KEYCLOAK_URL',
      'VITE_KEYCLOAK_REALM',
    ]);
    expect(problems[0]).toContain('"not a url"');
  });

  it('refuses a non-http URL', () => {
    const r = parseUiConfig({ VITE_API_URL: 'ftp://x.test', VITE_KEYCLOAK_URL: 'http://kc.test' });
    expect(r.ok ? [] : r.problems).toEqual([
      'VITE_API_URL: must be an http(s) URL (got "ftp://x.test")',
    ]);
  });

  it('refuses the issuer URL where the Keycloak base URL belongs (a common mix-up)', () => {
    const r = parseUiConfig({
      VITE_API_URL: 'http://localhost:3000',
      VITE_KEYCLOAK_URL: 'http://localhost:18080/realms/palisade',
    });
    expect(r.ok ? [] : r.problems.map((p) => p.split(':')[0])).toEqual(['VITE_KEYCLOAK_URL']);
  });
});
