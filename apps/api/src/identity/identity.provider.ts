/** The one place the API builds its IdentityAdmin: Keycloak's admin API when configured. */
import type { Provider } from '@nestjs/common';
import { API_CONFIG, keycloakRealmOf, type ApiConfig } from '../config';
import { IDENTITY_ADMIN, type IdentityAdmin } from './identity-admin';
import { KeycloakIdentityAdmin, UnconfiguredIdentityAdmin } from './keycloak-identity-admin';

export function createIdentityAdmin(config: ApiConfig): IdentityAdmin {
  const { baseUrl, realm } = keycloakRealmOf(config);
  if (config.KEYCLOAK_ADMIN_CLIENT_SECRET === undefined)
    return new UnconfiguredIdentityAdmin(
      `${baseUrl}/realms/${realm}/protocol/openid-connect/token`,
    );
  return new KeycloakIdentityAdmin({
    baseUrl,
    realm,
    clientId: config.KEYCLOAK_ADMIN_CLIENT_ID,
    clientSecret: config.KEYCLOAK_ADMIN_CLIENT_SECRET,
  });
}

export const identityAdminProvider: Provider = {
  provide: IDENTITY_ADMIN,
  useFactory: createIdentityAdmin,
  inject: [API_CONFIG],
};
