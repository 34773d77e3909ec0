import { z } from 'zod';

/** What a UI needs to know at build time (Vite env), validated before anything renders. */
export const uiConfigSchema = z.object({
  VITE_API_URL: z.url(),
  VITE_KEYCLOAK_URL: z.url(),
  VITE_KEYCLOAK_REALM: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'must be a realm name')
    .default('palisade'),
});

export interface UiConfig {
  apiUrl: string;
  keycloakUrl: string;
  realm: string;
}

export type UiConfigResult = { ok: true; config: UiConfig } | { ok: false; problems: string[] };

export function parseUiConfig(env: Record<string, unknown>): UiConfigResult {
  const r = uiConfigSchema.safeParse(env);
  if (!r.success)
    return { ok: false, problems: r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) };
  return {
    ok: true,
    config: {
      apiUrl: r.data.VITE_API_URL.replace(/\/$/, ''),
      keycloakUrl: r.data.VITE_KEYCLOAK_URL.replace(/\/$/, ''),
      realm: r.data.VITE_KEYCLOAK_REALM,
    },
  };
}
