/**
 * The API's configuration: parsed once at boot from the environment, frozen, typed. A bad or
 * missing variable stops the process with a list of every problem.
 */
import { z } from 'zod';
import { logSettings, parseEnv } from '@palisade/contracts';

const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.url()));

export const apiConfigSchema = z.object({
  PALISADE_API_HOST: z.string().min(1).default('127.0.0.1'),
  PALISADE_API_PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  /** Runtime role: no DDL, subject to row-level security. */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }),
  /** e.g. http://localhost:18080/realms/palisade */
  KEYCLOAK_ISSUER: z
    .url()
    .regex(
      /^https?:\/\/[^/]+(\/.*)?\/realms\/[^/]+$/,
      'must be a Keycloak realm URL: <base>/realms/<realm>',
    ),
  /** Defaults to the issuer's certs endpoint. */
  KEYCLOAK_JWKS_URL: z.url().optional(),
  API_AUDIENCE: z.string().min(1).default('palisade-api'),
  /** The realm's confidential client the API uses for Keycloak's admin API (tenant onboarding). */
  KEYCLOAK_ADMIN_CLIENT_ID: z.string().min(1).default('palisade-identity-admin'),
  /**
   * Its secret. Without it the API still serves everything else, and onboarding, invitations and
   * API clients answer 503 saying so. The realm file's value is for development only.
   */
  KEYCLOAK_ADMIN_CLIENT_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Browser origins allowed to call the API (the portal and admin console). */
  CORS_ORIGINS: csv.default(['http://localhost:5173', 'http://localhost:5174']),
  ...logSettings,
});

export type ApiConfig = z.infer<typeof apiConfigSchema>;

export function loadApiConfig(
  env: Record<string, string | undefined> = process.env,
): Readonly<ApiConfig> {
  const parsed = parseEnv(apiConfigSchema, env);
  if (!parsed.ok) {
    process.stderr.write(
      `palisade-api: invalid configuration:\n${parsed.problems.map((p) => `  - ${p}`).join('\n')}\n`,
    );
    process.exit(1);
  }
  return parsed.value;
}

export const API_CONFIG = Symbol('API_CONFIG');

/** Keycloak's base URL and realm name, from the issuer (the schema guarantees its shape). */
export function keycloakRealmOf(config: Pick<ApiConfig, 'KEYCLOAK_ISSUER'>): {
  baseUrl: string;
  realm: string;
} {
  const i = config.KEYCLOAK_ISSUER.lastIndexOf('/realms/');
  return {
    baseUrl: config.KEYCLOAK_ISSUER.slice(0, i),
    realm: config.KEYCLOAK_ISSUER.slice(i + '/realms/'.length),
  };
}
