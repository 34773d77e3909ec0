/**
 * BOLA matrix: for EVERY tenant-scoped procedure, tenant B using tenant A's IDs gets 404 (or, for
 * lists filtered by A's IDs, nothing), over tRPC and over REST, and afterwards nothing of A has
 * changed. The table is checked against the router: a new tenant procedure fails here until it
 * joins the table (or the short list of procedures that take no ID of another tenant).
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, type Operation, type Vm } from '@palisade/contracts';
import { schema, withPlatform } from '@palisade/db';
import { appRouter } from './trpc/router';
import type { ProcedureMeta } from './trpc/trpc';
import { endOperation, observe, quota, roomy, seedCatalog, type Catalog } from './testing/fixtures';
import { startTestApi, type TestApi } from './testing/harness';

interface Ids {
  /** A's owner's membership, and an API client of A's. */
  member: string;
  apiClient: string;
  vm: string;
  network: string;
  operation: string;
  sshKey: string;
  volume: string;
  snapshot: string;
  cat: Catalog;
  /** B's own volume, to point at A's VM with. */
  bVolume: string;
}

type Case = {
  /** tRPC input made of A's IDs. */
  input: (a: Ids) => unknown;
  mutation?: boolean;
  /** REST method, path and body made of A's IDs. */
  rest: (a: Ids) => [string, string, unknown?];
  /** `empty`: a list filtered by A's ID answers an empty page instead of 404. */
  expect?: 'empty';
};

const wait = { waitSeconds: 1 };

/**
 * Every tenant procedure that takes an ID, with how B tries to reach A's object through it. A key
 * `proc#variant` is a further attempt through the same procedure (B's object, A's reference).
 */
const CASES: Record<string, Case> = {
  'sshKeys.delete': {
    input: (a) => ({ id: a.sshKey }),
    mutation: true,
    rest: (a) => ['DELETE', `/ssh-keys/${a.sshKey}`],
  },
  'vms.get': { input: (a) => ({ id: a.vm }), rest: (a) => ['GET', `/vms/${a.vm}`] },
  'vms.isolation': {
    input: (a) => ({ id: a.vm }),
    rest: (a) => ['GET', `/vms/${a.vm}/isolation`],
  },
  'vms.update': {
    input: (a) => ({ id: a.vm, name: 'stolen' }),
    mutation: true,
    rest: (a) => ['PATCH', `/vms/${a.vm}`, { name: 'stolen' }],
  },
  'vms.delete': {
    input: (a) => ({ id: a.vm }),
    mutation: true,
    rest: (a) => ['DELETE', `/vms/${a.vm}`],
  },
  'vms.start': {
    input: (a) => ({ id: a.vm }),
    mutation: true,
    rest: (a) => ['POST', `/vms/${a.vm}/start`, {}],
  },
  'vms.stop': {
    input: (a) => ({ id: a.vm }),
    mutation: true,
    rest: (a) => ['POST', `/vms/${a.vm}/stop`, {}],
  },
  'vms.reboot': {
    input: (a) => ({ id: a.vm }),
    mutation: true,
    rest: (a) => ['POST', `/vms/${a.vm}/reboot`, {}],
  },
  'vms.forceOff': {
    input: (a) => ({ id: a.vm }),
    mutation: true,
    rest: (a) => ['POST', `/vms/${a.vm}/force-off`, {}],
  },
  'vms.resize': {
    input: (a) => ({ id: a.vm, flavorId: a.cat.large }),
    mutation: true,
    rest: (a) => ['POST', `/vms/${a.vm}/resize`, { flavorId: a.cat.large }],
  },
  'vms.rebuild': {
    input: (a) => ({ id: a.vm }),
    mutation: true,
    rest: (a) => ['POST', `/vms/${a.vm}/rebuild`, {}],
  },
  'vms.check': {
    input: (a) => ({ action: 'resize', id: a.vm, flavorId: a.cat.large }),
    mutation: true,
    rest: (a) => ['POST', '/vms/check', { action: 'resize', id: a.vm, flavorId: a.cat.large }],
  },
  'vms.create': {
    input: (a) => ({
      name: 'intruder',
      flavorId: a.cat.small,
      imageId: a.cat.image,
      networkId: a.network,
      sshKeyIds: [],
    }),
    mutation: true,
    rest: (a) => [
      'POST',
      '/vms',
      {
        name: 'intruder',
        flavorId: a.cat.small,
        imageId: a.cat.image,
        networkId: a.network,
        ...wait,
      },
    ],
  },
  'vms.create#sshKey': {
    input: (a) => ({
      name: 'intruder',
      flavorId: a.cat.small,
      imageId: a.cat.image,
      networkId: a.network,
      sshKeyIds: [a.sshKey],
    }),
    mutation: true,
    rest: (a) => [
      'POST',
      '/vms',
      {
        name: 'intruder',
        flavorId: a.cat.small,
        imageId: a.cat.image,
        networkId: a.network,
        sshKeyIds: [a.sshKey],
        ...wait,
      },
    ],
  },
  'vms.list': {
    input: () => ({ name: 'bola-' }),
    rest: () => ['GET', '/vms?name=bola-'],
    expect: 'empty',
  },
  'networks.get': {
    input: (a) => ({ id: a.network }),
    rest: (a) => ['GET', `/networks/${a.network}`],
  },
  'networks.delete': {
    input: (a) => ({ id: a.network }),
    mutation: true,
    rest: (a) => ['DELETE', `/networks/${a.network}`],
  },
  'networks.list': { input: () => ({}), rest: () => ['GET', '/networks'], expect: 'empty' },
  'operations.get': {
    input: (a) => ({ id: a.operation }),
    rest: (a) => ['GET', `/operations/${a.operation}`],
  },
  'operations.follow': {
    input: (a) => ({ id: a.operation, waitSeconds: 1 }),
    rest: (a) => ['GET', `/operations/${a.operation}/follow?waitSeconds=1`],
  },
  'operations.list': {
    input: (a) => ({ targetId: a.vm }),
    rest: (a) => ['GET', `/operations?targetId=${a.vm}`],
    expect: 'empty',
  },
  'volumes.get': { input: (a) => ({ id: a.volume }), rest: (a) => ['GET', `/volumes/${a.volume}`] },
  'volumes.attach': {
    input: (a) => ({ id: a.volume, vmId: a.vm }),
    mutation: true,
    rest: (a) => ['POST', `/volumes/${a.volume}/attach`, { vmId: a.vm }],
  },
  'volumes.attach#own-volume': {
    input: (a) => ({ id: a.bVolume, vmId: a.vm }),
    mutation: true,
    rest: (a) => ['POST', `/volumes/${a.bVolume}/attach`, { vmId: a.vm }],
  },
  'volumes.detach': {
    input: (a) => ({ id: a.volume }),
    mutation: true,
    rest: (a) => ['POST', `/volumes/${a.volume}/detach`, {}],
  },
  'volumes.extend': {
    input: (a) => ({ id: a.volume, sizeGiB: 9 }),
    mutation: true,
    rest: (a) => ['POST', `/volumes/${a.volume}/extend`, { sizeGiB: 9 }],
  },
  'volumes.delete': {
    input: (a) => ({ id: a.volume }),
    mutation: true,
    rest: (a) => ['DELETE', `/volumes/${a.volume}`],
  },
  'volumes.list': {
    input: (a) => ({ vmId: a.vm }),
    rest: (a) => ['GET', `/volumes?vmId=${a.vm}`],
    expect: 'empty',
  },
  'snapshots.get': {
    input: (a) => ({ id: a.snapshot }),
    rest: (a) => ['GET', `/snapshots/${a.snapshot}`],
  },
  'snapshots.create': {
    input: (a) => ({ vmId: a.vm, name: 'stolen' }),
    mutation: true,
    rest: (a) => ['POST', '/snapshots', { vmId: a.vm, name: 'stolen' }],
  },
  'snapshots.revert': {
    input: (a) => ({ id: a.snapshot }),
    mutation: true,
    rest: (a) => ['POST', `/snapshots/${a.snapshot}/revert`, {}],
  },
  'snapshots.delete': {
    input: (a) => ({ id: a.snapshot }),
    mutation: true,
    rest: (a) => ['DELETE', `/snapshots/${a.snapshot}`],
  },
  'snapshots.list': {
    input: (a) => ({ vmId: a.vm }),
    rest: (a) => ['GET', `/snapshots?vmId=${a.vm}`],
    expect: 'empty',
  },
  'members.setRole': {
    input: (a) => ({ id: a.member, role: 'viewer' }),
    mutation: true,
    rest: (a) => ['PATCH', `/members/${a.member}`, { role: 'viewer' }],
  },
  'members.remove': {
    input: (a) => ({ id: a.member }),
    mutation: true,
    rest: (a) => ['DELETE', `/members/${a.member}`],
  },
  'apiClients.rotate': {
    input: (a) => ({ id: a.apiClient }),
    mutation: true,
    rest: (a) => ['POST', `/api-clients/${a.apiClient}/rotate`, {}],
  },
  'apiClients.revoke': {
    input: (a) => ({ id: a.apiClient }),
    mutation: true,
    rest: (a) => ['DELETE', `/api-clients/${a.apiClient}`],
  },
  'audit.list': {
    input: (a) => ({ targetId: a.vm }),
    rest: (a) => ['GET', `/audit?targetId=${a.vm}`],
    expect: 'empty',
  },
};

/** Tenant procedures that take no ID another tenant could own (nothing to try). */
const NO_FOREIGN_ID = new Set([
  'sshKeys.list',
  'sshKeys.create',
  'flavors.list',
  'images.list', // no input; that B never lists A's private images: me-side.int.spec.ts
  'quota.get',
  'networks.create',
  'volumes.create',
  'members.list',
  'members.invite',
  'apiClients.list',
  'apiClients.create',
]);

const tenantProcedures = Object.entries(
  appRouter._def.procedures as unknown as Record<string, { _def: { meta?: ProcedureMeta } }>,
)
  .filter(([, p]) => {
    const access = p._def.meta?.access;
    return access?.kind === 'permission' && !access.permission.startsWith('platform.');
  })
  .map(([path]) => path);

describe('BOLA matrix: tenant B with tenant A’s IDs (real stack)', () => {
  let api: TestApi;
  let a: Ids;
  let tenantA: { id: string; slug: string };
  let tenantB: { id: string; slug: string };

  /** Everything of A that B must not be able to change. */
  const snapshotOfA = () =>
    withPlatform(api.db, 'test: snapshot tenant A', async (tx) => ({
      vms: await tx.select().from(schema.vms).where(eq(schema.vms.tenantId, tenantA.id)),
      nics: await tx.select().from(schema.nics).where(eq(schema.nics.tenantId, tenantA.id)),
      vmSshKeys: await tx
        .select()
        .from(schema.vmSshKeys)
        .where(eq(schema.vmSshKeys.tenantId, tenantA.id)),
      networks: await tx
        .select()
        .from(schema.networks)
        .where(eq(schema.networks.tenantId, tenantA.id)),
      operations: await tx
        .select()
        .from(schema.operations)
        .where(eq(schema.operations.tenantId, tenantA.id)),
      usage: await tx
        .select()
        .from(schema.tenantUsage)
        .where(eq(schema.tenantUsage.tenantId, tenantA.id)),
      sshKeys: await tx
        .select()
        .from(schema.sshKeys)
        .where(eq(schema.sshKeys.tenantId, tenantA.id)),
      memberships: await tx
        .select()
        .from(schema.memberships)
        .where(eq(schema.memberships.tenantId, tenantA.id)),
      apiClients: await tx
        .select()
        .from(schema.apiClients)
        .where(eq(schema.apiClients.tenantId, tenantA.id)),
    }));

  beforeAll(async () => {
    api = await startTestApi();
    const cat = await seedCatalog(api.db);
    [tenantA, tenantB] = (await api.tenants('bola-a', 'bola-b')) as [
      typeof tenantA,
      typeof tenantB,
    ];
    await api.member('alice', tenantA.id, 'owner');
    await api.member('bob', tenantB.id, 'owner');
    for (const t of [tenantA, tenantB]) await quota(api.db, t.id, roomy);
    const asA = (proc: string, input: unknown) =>
      api.call('alice', proc, { tenant: tenantA.id, mutation: true, input });
    const net = (await asA('networks.create', { name: 'a-net', cidr: '10.1.0.0/24' })).data as {
      network: { id: string };
      operation: Operation;
    };
    await endOperation(api.db, net.operation.id);
    const created = (
      await asA('vms.create', {
        name: 'bola-a',
        flavorId: cat.small,
        imageId: cat.image,
        networkId: net.network.id,
      })
    ).data as { vm: Vm; operation: Operation };
    await endOperation(api.db, created.operation.id);
    await observe(api.db, created.vm.id, 'stopped');
    const key = (
      await asA('sshKeys.create', {
        name: 'a-key',
        publicKey:
          'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBOLAbolaBOLAbolaBOLAbolaBOLAbolaBOLAbolaBOLA a@a',
      })
    ).data as { id: string };
    const volume = (await asA('volumes.create', { name: 'a-vol', sizeGiB: 2 })).data as {
      volume: { id: string };
      operation: Operation;
    };
    await endOperation(api.db, volume.operation.id);
    const snap = (await asA('snapshots.create', { vmId: created.vm.id, name: 'a-snap' })).data as {
      snapshot: { id: string };
      operation: Operation;
    };
    await endOperation(api.db, snap.operation.id);
    const bVolume = (
      await api.call('bob', 'volumes.create', {
        tenant: tenantB.id,
        mutation: true,
        input: { name: 'b-vol', sizeGiB: 1 },
      })
    ).data as { volume: { id: string }; operation: Operation };
    await endOperation(api.db, bVolume.operation.id);
    await withPlatform(api.db, 'test fixture: worker made the volume', (tx) =>
      tx
        .update(schema.volumes)
        .set({ status: 'available' })
        .where(eq(schema.volumes.id, bVolume.volume.id)),
    );
    const [owner] = await withPlatform(api.db, 'test: A owner membership', (tx) =>
      tx
        .select({ id: schema.memberships.id })
        .from(schema.memberships)
        .where(eq(schema.memberships.tenantId, tenantA.id)),
    );
    const client = (await asA('apiClients.create', { name: 'a-robot', role: 'viewer' })).data as {
      id: string;
    };
    a = {
      member: owner!.id,
      apiClient: client.id,
      bVolume: bVolume.volume.id,
      volume: volume.volume.id,
      snapshot: snap.snapshot.id,
      vm: created.vm.id,
      network: net.network.id,
      operation: created.operation.id,
      sshKey: key.id,
      cat,
    };
    expect(Object.values(a).every(Boolean)).toBe(true);
  });
  afterAll(() => api?.close());

  it('every tenant procedure is in the matrix or takes no foreign ID', () => {
    const covered = new Set(Object.keys(CASES).map((k) => k.split('#')[0]!));
    const missing = tenantProcedures.filter((p) => !covered.has(p) && !NO_FOREIGN_ID.has(p));
    expect(missing, 'add these to CASES in bola.int.spec.ts').toEqual([]);
    expect([...covered].filter((p) => !tenantProcedures.includes(p))).toEqual([]);
  });

  it('tRPC and REST: B gets 404 (or an empty list) for each, and nothing of A changes', async () => {
    const before = await snapshotOfA();
    for (const [name, c] of Object.entries(CASES)) {
      const proc = name.split('#')[0]!;
      const viaTrpc = await api.call('bob', proc, {
        tenant: tenantB.id,
        input: c.input(a),
        mutation: c.mutation,
      });
      const [method, path, body] = c.rest(a);
      const viaRest = await api.rest('bob', method, path, { tenant: tenantB.id, body });
      for (const [transport, r] of [
        ['trpc', viaTrpc],
        ['rest', viaRest],
      ] as const) {
        if (c.expect === 'empty')
          expect({
            name,
            transport,
            status: r.status,
            items: (r.data as { items: unknown[] }).items,
          }).toEqual({
            name,
            transport,
            status: 200,
            items: [],
          });
        else
          expect({ name, transport, status: r.status, code: r.code }).toEqual({
            name,
            transport,
            status: 404,
            code: ErrorCode.NOT_FOUND,
          });
      }
    }
    expect(await snapshotOfA()).toEqual(before);
  });
});
