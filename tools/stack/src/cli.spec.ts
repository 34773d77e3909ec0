import { describe, expect, it } from 'vitest';
import { stackInfoSchema } from '@palisade/testkit';
import { parseArgs, servicesOf, stackDescription, statusLine, withDependencies } from './cli';
import { devHost } from './services/dev-host';
import { libvirt } from './services/libvirt';
import { PROFILE_PORTS, PROFILES, pathsFor, portsFor } from './profiles';

describe('parseArgs', () => {
  it('defaults to the dev profile and every service', () => {
    expect(parseArgs(['up'])).toEqual({ command: 'up', profile: 'dev', only: null, follow: false });
  });

  it('takes --profile and --only with a space or an equals sign', () => {
    expect(parseArgs(['up', '--profile', 'test', '--only=postgres,redis'])).toMatchObject({
      profile: 'test',
      only: ['postgres', 'redis'],
    });
    expect(parseArgs(['down', '--profile=test', '--only', 'keycloak'])).toMatchObject({
      command: 'down',
      profile: 'test',
      only: ['keycloak'],
    });
  });

  it('drops a service named twice in --only', () => {
    expect(parseArgs(['up', '--only', 'redis, redis,postgres']).only).toEqual([
      'redis',
      'postgres',
    ]);
  });

  it('needs a known service for logs and takes -f to follow', () => {
    expect(parseArgs(['logs', 'keycloak', '-f', '--profile', 'test'])).toMatchObject({
      command: 'logs',
      service: 'keycloak',
      follow: true,
      profile: 'test',
    });
    expect(() => parseArgs(['logs'])).toThrow(/logs needs a service/);
    expect(() => parseArgs(['logs', 'mysql'])).toThrow(/unknown service mysql/);
  });

  it('refuses unknown commands, profiles, services and flags with a usage line', () => {
    expect(() => parseArgs([])).toThrow(/^usage: stack <up\|down\|status\|logs\|reset>/);
    expect(() => parseArgs(['start'])).toThrow(/^usage: stack/);
    expect(() => parseArgs(['up', '--profile', 'prod'])).toThrow(
      /--profile must be one of dev, test/,
    );
    expect(() => parseArgs(['up', '--profile'])).toThrow(/--profile needs a value/);
    expect(() => parseArgs(['up', '--only', 'postgres,mongo'])).toThrow(/unknown service mongo/);
    expect(() => parseArgs(['up', '--force'])).toThrow(/unknown argument --force/);
    expect(() => parseArgs(['status', '-f'])).toThrow(/unknown argument -f/);
  });
});

describe('withDependencies', () => {
  it('brings Postgres along with Keycloak, which keeps its data there', () => {
    expect(withDependencies(['keycloak'])).toEqual(['postgres', 'keycloak']);
  });

  it('keeps start order and adds nothing to independent services', () => {
    expect(withDependencies(['libvirt', 'redis'])).toEqual(['redis', 'libvirt']);
    expect(withDependencies(['keycloak', 'postgres', 'redis'])).toEqual([
      'postgres',
      'redis',
      'keycloak',
    ]);
  });
});

describe('profiles', () => {
  it('dev and test never share a port, and none is a system default', () => {
    const ports = PROFILES.flatMap((p) => Object.values(PROFILE_PORTS[p]));
    expect(new Set(ports).size).toBe(ports.length);
    for (const p of [5432, 6379, 8080, 8443, 9000]) expect(ports).not.toContain(p);
  });

  it('has the documented ports', () => {
    expect(PROFILE_PORTS.dev).toEqual({
      postgres: 55432,
      redis: 56379,
      keycloak: 18080,
      keycloakManagement: 18081,
    });
    expect(PROFILE_PORTS.test).toEqual({
      postgres: 56432,
      redis: 57379,
      keycloak: 19080,
      keycloakManagement: 19081,
    });
  });

  it('shifts every port by PALISADE_PORT_OFFSET and refuses nonsense', () => {
    expect(portsFor('test', {})).toEqual(PROFILE_PORTS.test);
    expect(portsFor('test', { PALISADE_PORT_OFFSET: '1000' })).toEqual({
      postgres: 57432,
      redis: 58379,
      keycloak: 20080,
      keycloakManagement: 20081,
    });
    for (const bad of ['-1', '1.5', 'ten', '60000'])
      expect(() => portsFor('dev', { PALISADE_PORT_OFFSET: bad })).toThrow(/PALISADE_PORT_OFFSET/);
  });

  it('keeps each profile under its own data folder, the lock beside it and the cache outside the repo', () => {
    expect(pathsFor('/repo', 'test', { HOME: '/home/me' })).toEqual({
      root: '/repo',
      data: '/repo/.data/test',
      run: '/repo/.data/test/run',
      logs: '/repo/.data/test/logs',
      lock: '/repo/.data/test.lock',
      cache: '/home/me/.cache/palisade',
    });
    expect(pathsFor('/repo', 'dev', { HOME: '/h', PALISADE_CACHE: '/c' }).cache).toBe('/c');
  });
});

describe('stack.json', () => {
  const ctx = { profile: 'test' as const, ports: PROFILE_PORTS.test };

  it('describes how to reach each service of the profile', () => {
    const d = stackDescription(ctx, 'palisade', { available: true });
    expect(d.postgres).toMatchObject({ host: '127.0.0.1', port: 56432, database: 'palisade' });
    expect(d.postgres.appUrl).toMatch(
      /^postgres:\/\/palisade_app:[^@]+@127\.0\.0\.1:56432\/palisade$/,
    );
    expect(d.postgres.ownerUrl).toMatch(
      /^postgres:\/\/palisade_owner:[^@]+@127\.0\.0\.1:56432\/palisade$/,
    );
    expect(d.postgres.adminUrl).toMatch(
      /^postgres:\/\/postgres:[^@]+@127\.0\.0\.1:56432\/postgres$/,
    );
    expect(d.redis.url).toBe('redis://127.0.0.1:57379');
    expect(d.keycloak).toMatchObject({
      url: 'http://localhost:19080',
      issuer: 'http://localhost:19080/realms/palisade',
      managementUrl: 'http://localhost:19081',
      realm: 'palisade',
    });
    expect(d.libvirt).toEqual({ available: true, uri: 'qemu:///system' });
  });

  it('names the reason when libvirt is unavailable, and gives no URI', () => {
    const d = stackDescription(ctx, 'master', { available: false, reason: 'libvirtd -d failed' });
    expect(d.libvirt).toEqual({ available: false, reason: 'libvirtd -d failed' });
    expect(d.keycloak.issuer).toBe('http://localhost:19080/realms/master');
  });

  it("describes the dev profile's own namespaced libvirtd, never the system URI", () => {
    const host = {
      netns: 'palisade-dev',
      uri: 'qemu:///system?socket=/r/.data/dev/host/run/libvirt-sock',
      underlayDev: 'ul0',
      underlayIp: '192.0.2.1',
      bandwidth: false,
    };
    const d = stackDescription(ctx, 'palisade', { available: true, host });
    expect(d.libvirt).toEqual({
      available: true,
      uri: host.uri,
      netns: 'palisade-dev',
      underlay: { dev: 'ul0', ip: '192.0.2.1' },
      bandwidth: false,
    });
    expect(stackInfoSchema.parse(JSON.parse(JSON.stringify(d)))).toEqual(d);
  });

  it('gives the dev profile its namespaced host in place of the system libvirtd', () => {
    const names = (p: 'dev' | 'test') => servicesOf(p).map((s) => s.name);
    expect(names('dev')).toEqual(names('test'));
    expect(servicesOf('dev').find((s) => s.name === 'libvirt')).toBe(devHost);
    expect(servicesOf('test').find((s) => s.name === 'libvirt')).toBe(libvirt);
  });

  it('is what @palisade/testkit reads', () => {
    for (const lv of [{ available: true }, { available: false, reason: 'no' }]) {
      const d = stackDescription(ctx, 'palisade', lv);
      expect(stackInfoSchema.parse(JSON.parse(JSON.stringify(d)))).toEqual(d);
    }
  });
});

describe('statusLine', () => {
  it('shows state, pid and endpoint', () => {
    expect(
      statusLine('postgres', {
        running: true,
        ready: true,
        ours: true,
        pid: 42,
        endpoint: '127.0.0.1:56432',
      }),
    ).toMatch(/^● postgres\s+ready\s+pid 42\s+127\.0\.0\.1:56432$/);
    expect(
      statusLine('keycloak', {
        running: true,
        ready: false,
        ours: true,
        pid: 7,
        endpoint: 'http://localhost:19080',
      }),
    ).toMatch(/^◐ keycloak\s+starting\s+pid 7\s+http:/);
    expect(
      statusLine('redis', {
        running: false,
        ready: false,
        ours: false,
        endpoint: '127.0.0.1:57379',
      }),
    ).toMatch(/^○ redis\s+stopped\s+127\.0\.0\.1:57379$/);
    expect(
      statusLine('libvirt', {
        running: true,
        ready: true,
        ours: false,
        pid: 9,
        endpoint: 'qemu:///system',
        note: 'found running',
      }),
    ).toContain('(found running)');
  });
});
