import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadStack, repoRoot } from './stack';

const sample = {
  profile: 'test',
  postgres: {
    host: '127.0.0.1',
    port: 56432,
    database: 'palisade',
    ownerUrl: 'postgres://palisade_owner:o@127.0.0.1:56432/palisade',
    appUrl: 'postgres://palisade_app:a@127.0.0.1:56432/palisade',
    adminUrl: 'postgres://postgres:p@127.0.0.1:56432/postgres',
  },
  redis: { url: 'redis://127.0.0.1:57379' },
  keycloak: {
    url: 'http://localhost:19080',
    issuer: 'http://localhost:19080/realms/palisade',
    managementUrl: 'http://localhost:19081',
    realm: 'palisade',
    adminUsername: 'admin',
    adminPassword: 'x',
  },
  libvirt: { available: false, reason: 'libvirtd -d failed' },
};

/** A fake checkout: package.json named palisade, and the stack files given. */
function checkout(files: Record<string, unknown>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'testkit-stack-'));
  writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'palisade' }));
  for (const [profile, body] of Object.entries(files)) {
    mkdirSync(path.join(root, '.data', profile), { recursive: true });
    writeFileSync(
      path.join(root, '.data', profile, 'stack.json'),
      typeof body === 'string' ? body : JSON.stringify(body),
    );
  }
  return root;
}

describe('repoRoot', () => {
  it('walks up to the package.json named palisade, past other packages', () => {
    const root = checkout({});
    const nested = path.join(root, 'libs', 'x', 'src');
    mkdirSync(nested, { recursive: true });
    writeFileSync(
      path.join(root, 'libs', 'x', 'package.json'),
      JSON.stringify({ name: '@palisade/x' }),
    );
    expect(repoRoot(nested)).toBe(root);
  });

  it('finds this checkout from here', () => {
    expect(repoRoot()).toBe(path.resolve(__dirname, '../../..'));
  });
});

describe('loadStack', () => {
  const saved = process.env.PALISADE_PROFILE;
  afterEach(() => {
    if (saved === undefined) delete process.env.PALISADE_PROFILE;
    else process.env.PALISADE_PROFILE = saved;
  });

  it('reads and types the profile description', () => {
    const info = loadStack('test', checkout({ test: sample }));
    expect(info).toEqual(sample);
    expect(info.libvirt.uri).toBeUndefined();
  });

  it('reads a file written before the optional fields existed', () => {
    const { database: _d, ...postgres } = sample.postgres;
    const { managementUrl: _m, ...keycloak } = sample.keycloak;
    const info = loadStack('test', checkout({ test: { ...sample, postgres, keycloak } }));
    expect(info.postgres.database).toBeUndefined();
  });

  it('takes the profile from PALISADE_PROFILE, test when unset', () => {
    const root = checkout({ test: sample, dev: { ...sample, profile: 'dev' } });
    delete process.env.PALISADE_PROFILE;
    expect(loadStack(undefined, root).profile).toBe('test');
    process.env.PALISADE_PROFILE = 'dev';
    expect(loadStack(undefined, root).profile).toBe('dev');
    process.env.PALISADE_PROFILE = 'prod';
    expect(() => loadStack(undefined, root)).toThrow(/PALISADE_PROFILE must be dev or test/);
  });

  it('says how to start the stack when the file is missing', () => {
    expect(() => loadStack('dev', checkout({}))).toThrow(/npm run stack -- up --profile dev/);
  });

  it('refuses a file that does not match the schema, naming the field', () => {
    const root = checkout({ test: { ...sample, redis: {} } });
    expect(() => loadStack('test', root)).toThrow(/does not match[\s\S]*redis/);
  });
});
