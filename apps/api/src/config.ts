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
  /**
   * SECRET MATERIAL: the control-plane CA's directory (ca.key at 0600, ca.crt), created on first
   * boot. Back it up; every host certificate chains to it. Unset: host enrolment is off and the
   * agent gateway does not listen.
   */
  PKI_DIR: z.string().startsWith('/', 'must be an absolute path').optional(),
  /** Validity of host (and control-plane) certificates; agents renew at 2/3 of it. */
  HOST_CERT_DAYS: z.coerce.number().int().min(1).max(397).default(30),
  /** The agent gateway: HTTPS for enrolment, mTLS for renewal (only with PKI_DIR). 0 = any port. */
  AGENT_GATEWAY_HOST: z.string().min(1).default('127.0.0.1'),
  AGENT_GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).default(3443),
  /** Names agents use to reach the gateway: the SANs of its server certificate. */
  AGENT_GATEWAY_NAMES: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(z.string().regex(/^[A-Za-z0-9.:-]+$/, 'must be DNS names or IP addresses')).min(1),
    )
    .default(['localhost', '127.0.0.1']),
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
