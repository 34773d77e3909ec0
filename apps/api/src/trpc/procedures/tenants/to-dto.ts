import type { Tenant } from '@palisade/contracts';
import type { TenantRow } from '@palisade/db';

export const toTenant = (r: TenantRow): Tenant => ({
  id: r.id,
  slug: r.slug,
  name: r.name,
  status: r.status,
  keycloakGroupId: r.keycloakGroupId,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});
