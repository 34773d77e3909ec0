import { z } from 'zod';

/** The realm role that makes a user an operator of the whole platform. */
export const PLATFORM_ADMIN_ROLE = 'platform-admin';

/** The audience every access token for the Palisade API must carry. */
export const API_AUDIENCE = 'palisade-api';

/** The access-token claim that names an API client's tenant (its Keycloak hard-coded mapper). */
export const TENANT_CLAIM = 'palisade_tenant';

/** Who is calling, as the API understands it after verifying the access token. */
export const principalSchema = z.object({
  subject: z.string(),
  kind: z.enum(['user', 'service']),
  username: z.string().optional(),
  name: z.string().optional(),
  email: z.string().optional(),
  /** Keycloak realm roles, for example `platform-admin`. */
  roles: z.array(z.string()),
  /** The OAuth client that obtained the token (`azp`). */
  clientId: z.string().optional(),
  /**
   * The `palisade_tenant` claim of a tenant API client's token (a hard-coded claim of that
   * Keycloak client). It only has to match the API client's row; it grants nothing by itself.
   */
  tenant: z.string().optional(),
});
export type Principal = z.infer<typeof principalSchema>;

export const meOutputSchema = z.object({
  principal: principalSchema,
  isPlatformAdmin: z.boolean(),
});
export type MeOutput = z.infer<typeof meOutputSchema>;
