/**
 * What a UI needs to know, from the Vite env it was built (or served) with, validated before
 * anything renders. Pure: the caller passes `import.meta.env` in, and gets every problem at once.
 * Must never hold a secret: everything here is compiled into a public bundle.
 */
import { z } from 'zod';
import { parseEnv } from '@palisade/contracts';

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

export const uiConfigSchema = z.object({
  /** The API's origin, e.g. http://localhost:3000 (tRPC is at /trpc below it). */
  VITE_API_URL: httpUrl,
  /** Keycloak's base URL, e.g. http://localhost:18080 — not the realm's issuer URL. */
  VITE_KEYCLOAK_URL: httpUrl.refine((u) => !/\/realms\//.test(u), {
    message: 'must be Keycloak’s base URL, without /realms/<realm>',
  }),
  VITE_KEYCLOAK_REALM: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'must be a realm name (lower-case letters, digits, -)')
    .default('palisade'),
});

export interface UiConfig {
  apiUrl: string;
  keycloakUrl: string;
  realm: string;
}

export type UiConfigResult =
  { ok: true; config: Readonly<UiConfig> } | { ok: false; problems: string[] };

export function parseUiConfig(env: Record<string, unknown>): UiConfigResult {
  // import.meta.env also carries booleans (DEV, PROD, SSR); only the VITE_* strings matter here.
  const strings = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  const r = parseEnv(uiConfigSchema, strings);
  if (!r.ok) return { ok: false, problems: r.problems };
  return {
    ok: true,
    config: Object.freeze({
      apiUrl: r.value.VITE_API_URL.replace(/\/+$/, ''),
      keycloakUrl: r.value.VITE_KEYCLOAK_URL.replace(/\/+$/, ''),
      realm: r.value.VITE_KEYCLOAK_REALM,
    }),
  };
}
