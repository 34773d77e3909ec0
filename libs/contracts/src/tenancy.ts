/**
 * Request and response schemas of tenant onboarding (operators), tenant members and tenant API
 * clients. Browser-safe: no I/O.
 */
import { z } from 'zod';
import { resourceNameSchema } from './ssh-keys';

export const TENANT_ROLE_VALUES = ['owner', 'admin', 'member', 'viewer'] as const;
export const tenantRoleSchema = z.enum(TENANT_ROLE_VALUES);
export type TenantRole = z.infer<typeof tenantRoleSchema>;

/** The same rule as the tenants_slug_format constraint: it ends up in host-side names. */
export const tenantSlugSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{1,30}[a-z0-9]$/,
    'must be 3 to 32 lowercase letters, digits and dashes, starting with a letter and not ending with a dash',
  );

const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, 'must be at most 254 characters')
  .pipe(z.email('must be an email address'));

export const tenantCreateInput = z.object({
  slug: tenantSlugSchema,
  name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  /** Onboarding in one step: invite this person as the tenant's first owner. */
  ownerEmail: emailSchema.optional(),
});
export type TenantCreateInput = z.infer<typeof tenantCreateInput>;

export const tenantSchema = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  status: z.enum(['active', 'suspended', 'deleting']),
  /** The Keycloak group `/tenants/<slug>` that mirrors the tenant. */
  keycloakGroupId: z.string().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Tenant = z.infer<typeof tenantSchema>;

/** A tenant the caller may act in (tenants.mine): what a tenant switcher needs, and the role. */
export const myTenantSchema = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  status: z.enum(['active', 'suspended', 'deleting']),
  role: tenantRoleSchema,
});
export type MyTenant = z.infer<typeof myTenantSchema>;

export const memberSchema = z.object({
  id: z.uuid(),
  /** Keycloak `sub` of the user. */
  subject: z.string(),
  email: z.string().nullable(),
  role: tenantRoleSchema,
  createdAt: z.iso.datetime(),
});
export type Member = z.infer<typeof memberSchema>;

export const memberInviteInput = z.object({
  email: emailSchema,
  role: tenantRoleSchema,
});
export type MemberInviteInput = z.infer<typeof memberInviteInput>;

export const memberInviteOutput = memberSchema.extend({
  /** True when the Keycloak user was created by this invitation (no email is sent). */
  userCreated: z.boolean(),
});

export const memberRoleInput = z.object({
  id: z.uuid('must be a UUID'),
  role: tenantRoleSchema,
});

export const apiClientRoleSchema = z.enum(['admin', 'member', 'viewer'], {
  error: 'must be admin, member or viewer (an API client cannot be an owner)',
});

export const apiClientCreateInput = z.object({
  name: resourceNameSchema,
  role: apiClientRoleSchema,
});
export type ApiClientCreateInput = z.infer<typeof apiClientCreateInput>;

export const apiClientSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  role: tenantRoleSchema,
  /** What goes into `client_id` of a client_credentials token request. */
  clientId: z.string(),
  status: z.enum(['active', 'revoked']),
  createdAt: z.iso.datetime(),
  secretRotatedAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
});
export type ApiClient = z.infer<typeof apiClientSchema>;

/** Returned by create and rotate only: Palisade never stores the secret and cannot show it again. */
export const apiClientWithSecretSchema = apiClientSchema.extend({
  clientSecret: z.string(),
  tokenUrl: z.url(),
});
export type ApiClientWithSecret = z.infer<typeof apiClientWithSecretSchema>;
