/**
 * Palisade's authorisation policy: ONE table of roles × permissions. Keycloak authenticates;
 * this table decides. Every procedure declares the permission it needs; a test walks the router
 * and fails when one does not. docs/api/permissions.md is generated from this table's shape.
 *
 * Tenant roles come from memberships (or an API client's role); `platform-admin` is the Keycloak
 * realm role of operators. Pure: no I/O.
 */
export const TENANT_ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export type TenantRole = (typeof TENANT_ROLES)[number];

export const PERMISSIONS = {
  // tenant scope: what a tenant's members and API clients may do inside their tenant
  'vm.read': 'List and read VMs, their consoles metadata and isolation reports',
  'vm.write': 'Create, update, act on (start, stop, reboot, resize, rebuild) and delete VMs',
  'volume.read': 'List and read volumes',
  'volume.write': 'Create, attach, detach, extend and delete volumes',
  'snapshot.read': 'List and read snapshots',
  'snapshot.write': 'Create, revert and delete snapshots',
  'network.read': 'List and read networks',
  'network.write': 'Create and delete networks',
  'sshkey.read': 'List and read SSH keys',
  'sshkey.write': 'Add and remove SSH keys',
  'image.read': 'List public images and the tenant’s own',
  'flavor.read': 'List flavors',
  'quota.read': 'Read the tenant’s quota and usage',
  'operation.read': 'List, read and follow operations',
  'audit.read': 'Read the tenant’s audit log',
  'member.read': 'List members',
  'member.write': 'Invite and remove members, change their roles',
  'apiclient.read': 'List API clients',
  'apiclient.write': 'Create, rotate and revoke API clients',
  // platform scope: operators only
  'platform.tenant.write': 'Create, suspend and delete tenants; set quotas',
  'platform.tenant.read': 'List every tenant',
  'platform.host.read': 'List hosts, their health and compliance',
  'platform.host.write': 'Enrol, drain, re-enable and remove hosts',
  'platform.catalog.write': 'Manage flavors, public images and network fabrics',
  'platform.operation.write': 'Retry or cancel any operation',
  'platform.audit.read': 'Read the global audit log and usage reports',
} as const;

export type Permission = keyof typeof PERMISSIONS;

const READ: Permission[] = [
  'vm.read',
  'volume.read',
  'snapshot.read',
  'network.read',
  'sshkey.read',
  'image.read',
  'flavor.read',
  'quota.read',
  'operation.read',
  'audit.read',
  'member.read',
];
const BUILD: Permission[] = [
  'vm.write',
  'volume.write',
  'snapshot.write',
  'network.write',
  'sshkey.write',
];
const ADMINISTER: Permission[] = ['member.write', 'apiclient.read', 'apiclient.write'];

/** The table. Read it as: role → everything it may do. */
export const ROLE_PERMISSIONS: Readonly<
  Record<TenantRole | 'platform-admin', ReadonlySet<Permission>>
> = {
  viewer: new Set(READ),
  member: new Set([...READ, ...BUILD]),
  admin: new Set([...READ, ...BUILD, ...ADMINISTER]),
  owner: new Set([...READ, ...BUILD, ...ADMINISTER]),
  // Operators act on tenants' resources only through platform permissions and the audited
  // platform scope; they are not implicitly members of every tenant.
  'platform-admin': new Set(
    (Object.keys(PERMISSIONS) as Permission[]).filter((p) => p.startsWith('platform.')),
  ),
};

export function isPlatformPermission(p: Permission): boolean {
  return p.startsWith('platform.');
}

export function roleAllows(role: TenantRole | 'platform-admin', permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}

/** The permission table as rows, for docs and the role-matrix tests. */
export function permissionMatrix(): {
  permission: Permission;
  description: string;
  roles: Record<string, boolean>;
}[] {
  const roles = Object.keys(ROLE_PERMISSIONS) as (keyof typeof ROLE_PERMISSIONS)[];
  return (Object.entries(PERMISSIONS) as [Permission, string][]).map(
    ([permission, description]) => ({
      permission,
      description,
      roles: Object.fromEntries(roles.map((r) => [r, ROLE_PERMISSIONS[r].has(permission)])),
    }),
  );
}

/** The table as Markdown, for docs/api/permissions.md (a test keeps the two equal). */
export function renderPermissionTable(): string {
  const roles = Object.keys(ROLE_PERMISSIONS);
  const rows = permissionMatrix().map(
    (r) =>
      `| \`${r.permission}\` | ${r.description} | ${roles.map((role) => (r.roles[role] ? '✔' : '')).join(' | ')} |`,
  );
  return [
    `| permission | what it allows | ${roles.join(' | ')} |`,
    `|---|---|${roles.map(() => '---').join('|')}|`,
    ...rows,
  ].join('\n');
}
