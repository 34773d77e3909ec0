import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs, stackDescription } from './cli';
import { installedFrom } from './packages';
import { livePid, readPid } from './proc';
import { PROFILE_PORTS, pathsFor } from './profiles';

describe('parseArgs', () => {
  it('defaults to the dev profile and every service', () => {
    expect(parseArgs(['up'])).toEqual({
      command: 'up',
      profile: 'dev',
      only: null,
      service: undefined,
    });
  });

  it('takes --profile and --only in both spellings', () => {
    expect(parseArgs(['up', '--profile', 'test', '--only=postgres,redis'])).toMatchObject({
      profile: 'test',
      only: ['postgres', 'redis'],
    });
    expect(parseArgs(['down', '--profile=test'])).toMatchObject({
      command: 'down',
      profile: 'test',
    });
  });

  it('needs a known service for logs', () => {
    expect(parseArgs(['logs', 'keycloak', '--profile', 'test'])).toMatchObject({
      command: 'logs',
      service: 'keycloak',
    });
    expect(() => parseArgs(['logs'])).toThrow(/logs needs a service/);
    expect(() => parseArgs(['logs', 'mysql'])).toThrow(/unknown service mysql/);
  });

  it('refuses unknown commands, profiles and flags with a usage line', () => {
    expect(() => parseArgs(['start'])).toThrow(/usage: stack <up\|down\|status\|logs\|reset>/);
    expect(() => parseArgs(['up', '--profile', 'prod'])).toThrow(
      /--profile must be one of dev, test/,
    );
    expect(() => parseArgs(['up', '--force'])).toThrow(/unknown argument --force/);
  });
});

describe('profiles', () => {
  it('dev and test never share a port, and none is a system default', () => {
    const ports = [...Object.values(PROFILE_PORTS.dev), ...Object.values(PROFILE_PORTS.test)];
    expect(new Set(ports).size).toBe(ports.length);
    for (const p of [5432, 6379, 8080, 9000]) expect(ports).not.toContain(p);
  });

  it('keeps each profile under its own data folder and the cache outside the repo', () => {
    const p = pathsFor('/repo', 'test', { HOME: '/home/me' });
    expect(p).toMatchObject({
      data: '/repo/.data/test',
      run: '/repo/.data/test/run',
      cache: '/home/me/.cache/palisade',
    });
    expect(pathsFor('/repo', 'dev', { HOME: '/h', PALISADE_CACHE: '/c' }).cache).toBe('/c');
  });
});

describe('stack.json', () => {
  it('describes how to reach each service of the profile', () => {
    const ctx = {
      profile: 'test' as const,
      ports: PROFILE_PORTS.test,
      paths: pathsFor('/repo', 'test'),
    };
    const d = stackDescription(ctx, { available: false, reason: 'no libvirtd' });
    expect(d.postgres.appUrl).toMatch(
      /^postgres:\/\/palisade_app:[^@]+@127\.0\.0\.1:56432\/palisade$/,
    );
    expect(d.postgres.ownerUrl).toContain('palisade_owner');
    expect(d.redis.url).toBe('redis://127.0.0.1:57379');
    expect(d.keycloak.issuer).toBe('http://localhost:19080/realms/palisade');
    expect(d.libvirt).toEqual({ available: false, reason: 'no libvirtd' });
  });
});

describe('dpkg and pidfiles', () => {
  it('reads installed packages from dpkg-query output', () => {
    const out =
      'redis-server install ok installed\nmaven deinstall ok config-files\nlibvirt-clients:amd64 install ok installed\n';
    expect([...installedFrom(out)]).toEqual(['redis-server', 'libvirt-clients']);
  });

  it('treats a pidfile of a dead process as stale and removes it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'stack-pid-'));
    const live = path.join(dir, 'live.pid');
    const dead = path.join(dir, 'dead.pid');
    writeFileSync(live, `${process.pid}\n`);
    writeFileSync(dead, '999999999\n');
    expect(livePid(live)).toBe(process.pid);
    expect(livePid(dead)).toBeNull();
    expect(readPid(dead)).toBeNull();
  });
});
