import { describe, expect, it } from 'vitest';
import {
  PERMISSIONS,
  permissionMatrix,
  ROLE_PERMISSIONS,
  roleAllows,
  TENANT_ROLES,
  type Permission,
} from './policy';

describe('policy table', () => {
  it('roles are strictly ordered: viewer ⊂ member ⊂ admin ⊆ owner', () => {
    const chain = ['viewer', 'member', 'admin', 'owner'] as const;
    for (let i = 1; i < chain.length; i++) {
      for (const p of ROLE_PERMISSIONS[chain[i - 1]!]) expect(roleAllows(chain[i]!, p)).toBe(true);
    }
    expect(ROLE_PERMISSIONS.member.size).toBeGreaterThan(ROLE_PERMISSIONS.viewer.size);
  });

  it('a viewer can only read', () => {
    for (const p of ROLE_PERMISSIONS.viewer) expect(p).toMatch(/\.read$/);
  });

  it('no tenant role holds a platform permission, and operators hold only those', () => {
    for (const role of TENANT_ROLES)
      for (const p of ROLE_PERMISSIONS[role]) expect(p.startsWith('platform.')).toBe(false);
    for (const p of ROLE_PERMISSIONS['platform-admin'])
      expect(p.startsWith('platform.')).toBe(true);
  });

  it('members cannot manage members or API clients', () => {
    expect(roleAllows('member', 'member.write')).toBe(false);
    expect(roleAllows('member', 'apiclient.write')).toBe(false);
    expect(roleAllows('admin', 'apiclient.write')).toBe(true);
  });

  it('every permission is granted to someone, and the matrix lists each once', () => {
    const granted = new Set(Object.values(ROLE_PERMISSIONS).flatMap((s) => [...s]));
    expect([...granted].sort()).toEqual((Object.keys(PERMISSIONS) as Permission[]).sort());
    expect(permissionMatrix()).toHaveLength(Object.keys(PERMISSIONS).length);
  });
});

describe('docs/api/permissions.md', () => {
  it('shows exactly the policy table', async () => {
    const { readFileSync } = await import('node:fs');
    const path = await import('node:path');
    const { renderPermissionTable } = await import('./policy');
    const doc = readFileSync(path.resolve(__dirname, '../../../docs/api/permissions.md'), 'utf8');
    const table = /<!-- permission-table:start -->\n([\s\S]*?)\n<!-- permission-table:end -->/.exec(
      doc,
    )?.[1];
    expect(
      table,
      'regenerate the table in docs/api/permissions.md from renderPermissionTable()',
    ).toBe(renderPermissionTable());
  });
});
