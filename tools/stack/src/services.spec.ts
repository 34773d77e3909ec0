import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MissingPackagesError, ensurePackages, installedFrom, missingPackages } from './packages';
import { buildStamp, mainRealm, realmFiles } from './services/keycloak';
import { heir } from './services/libvirt';
import { bootstrapSql, newestVersion } from './services/postgres';

describe('packages', () => {
  it('reads installed packages from dpkg-query output, ignoring removed ones', () => {
    const out =
      'redis-server install ok installed\nmaven deinstall ok config-files\nlibvirt-clients:amd64 install ok installed\n';
    expect([...installedFrom(out)]).toEqual(['redis-server', 'libvirt-clients']);
  });

  it('names exactly the missing packages and installs nothing when not root', async () => {
    const missing = 'palisade-no-such-package';
    expect(await missingPackages(['dpkg', missing])).toEqual([missing]);
    const err = await ensurePackages(['dpkg', missing], () => undefined, false).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MissingPackagesError);
    expect((err as MissingPackagesError).missing).toEqual([missing]);
    expect((err as Error).message).toContain(
      `apt-get install -y --no-install-recommends ${missing}`,
    );
  });

  it('does nothing when everything is installed', async () => {
    expect(await ensurePackages(['dpkg', 'dpkg'], () => undefined, false)).toEqual([]);
  });
});

describe('postgres bootstrap', () => {
  it('picks the newest server version', () => {
    expect(newestVersion(['13', '15', '9', 'notes'])).toBe('15');
    expect(newestVersion([])).toBeUndefined();
  });

  it('creates the roles and databases only when missing, and the runtime role cannot bypass RLS', () => {
    const sql = bootstrapSql();
    expect(sql).toMatch(
      /ALTER ROLE palisade_app LOGIN PASSWORD '[^']+' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;/,
    );
    expect(sql).toMatch(/SELECT 'CREATE ROLE palisade_owner' WHERE NOT EXISTS .* \\gexec/);
    expect(sql).toMatch(
      /SELECT 'CREATE DATABASE palisade OWNER palisade_owner' WHERE NOT EXISTS .* \\gexec/,
    );
    expect(sql).toMatch(
      /SELECT 'CREATE DATABASE keycloak OWNER keycloak' WHERE NOT EXISTS .* \\gexec/,
    );
    // Nothing in it drops or recreates anything that exists.
    expect(sql).not.toMatch(/\bDROP\b/i);
  });
});

describe('keycloak realms', () => {
  it('reads realm names from the realm files, and names a broken file by its file name', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-realms-'));
    writeFileSync(path.join(dir, 'palisade-realm.json'), JSON.stringify({ realm: 'palisade' }));
    writeFileSync(path.join(dir, 'extra-realm.json'), '{ "realm": "half-writ');
    writeFileSync(path.join(dir, 'README.md'), '# not a realm');
    expect(realmFiles(dir).map((r) => r.realm)).toEqual(['extra', 'palisade']);
    expect(realmFiles(path.join(dir, 'missing'))).toEqual([]);
  });

  it('uses the product realm when it exists, and master on a bare Keycloak', () => {
    expect(mainRealm(['extra', 'palisade'])).toBe('palisade');
    expect(mainRealm(['other'])).toBe('other');
    expect(mainRealm([])).toBe('master');
  });

  it('stamps the cached build with the version and every build-time option', () => {
    expect(buildStamp()).toBe('26.4.7 start-dev --db=postgres --health-enabled=true\n');
  });
});

describe('libvirt ownership', () => {
  it('hands daemons to the other profile only while that profile uses them', () => {
    expect(heir('dev', (p) => p === 'test')).toBe('test');
    expect(heir('dev', () => false)).toBeNull();
    expect(heir('test', (p) => p === 'test')).toBeNull();
  });
});
