/**
 * The host monitor against real Postgres and a private real Redis, run by its own BullMQ job
 * scheduler: a host silent past the timeout becomes unreachable and its VMs unknown (never
 * stopped); a host that reported recently, one that never reported, and a draining one keep
 * their state.
 */
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, schema, withPlatform, type Db } from '@palisade/db';
import { loadStack, startEphemeralRedis, type EphemeralRedis } from '@palisade/testkit';
import { workerConfigSchema } from '../config';
import { HostMonitorService } from './host-monitor.service';

const stack = loadStack('test');
const s = Math.random().toString(36).slice(2, 8);

describe('host monitor (real Postgres, real Redis, its job scheduler)', () => {
  let db: Db;
  let redis: EphemeralRedis;
  let monitor: HostMonitorService | undefined;
  const hostIds: Record<'silent' | 'fresh' | 'never' | 'draining', string> = {} as never;
  const vmIds: Record<'running' | 'stopped' | 'deleted' | 'fresh' | 'draining', string> =
    {} as never;

  beforeAll(async () => {
    db = createDb(stack.postgres.appUrl, { max: 2 });
    redis = await startEphemeralRedis();
    await withPlatform(db, 'test fixture: hosts and VMs', async (tx) => {
      const ago = (ms: number) => new Date(Date.now() - ms);
      const hosts = await tx
        .insert(schema.hosts)
        .values([
          { name: `mon-${s}-silent`, state: 'up', lastHeartbeatAt: ago(10 * 60_000) },
          { name: `mon-${s}-fresh`, state: 'up', lastHeartbeatAt: new Date(Date.now() + 3600_000) },
          { name: `mon-${s}-never`, state: 'up', lastHeartbeatAt: null },
          { name: `mon-${s}-draining`, state: 'draining', lastHeartbeatAt: ago(10 * 60_000) },
        ])
        .returning({ id: schema.hosts.id });
      [hostIds.silent, hostIds.fresh, hostIds.never, hostIds.draining] = hosts.map((h) => h.id) as [
        string,
        string,
        string,
        string,
      ];
      const [tenant] = await tx
        .insert(schema.tenants)
        .values({ slug: `mon-${s}`, name: `monitor ${s}` })
        .returning({ id: schema.tenants.id });
      const [flavor] = await tx
        .insert(schema.flavors)
        .values({ name: `mon${s}.small`, vcpus: 1, ramMib: 256, diskGib: 1 })
        .returning({ id: schema.flavors.id });
      const [image] = await tx
        .insert(schema.images)
        .values({
          name: `mon-${s}`,
          os: 'linux',
          format: 'qcow2',
          sizeBytes: 1 << 20,
          checksum: 'a'.repeat(64),
          visibility: 'public',
          status: 'active',
        })
        .returning({ id: schema.images.id });
      const vm = (
        name: string,
        hostId: string,
        observedState: 'running' | 'stopped' | 'deleted',
      ) => ({
        tenantId: tenant!.id,
        name,
        flavorId: flavor!.id,
        imageId: image!.id,
        hostId,
        observedState,
      });
      const vms = await tx
        .insert(schema.vms)
        .values([
          vm('running-one', hostIds.silent, 'running'),
          vm('stopped-one', hostIds.silent, 'stopped'),
          vm('deleted-one', hostIds.silent, 'deleted'),
          vm('fresh-one', hostIds.fresh, 'running'),
          vm('draining-one', hostIds.draining, 'running'),
        ])
        .returning({ id: schema.vms.id });
      [vmIds.running, vmIds.stopped, vmIds.deleted, vmIds.fresh, vmIds.draining] = vms.map(
        (v) => v.id,
      ) as [string, string, string, string, string];
    });
  });

  afterAll(async () => {
    await monitor?.onApplicationShutdown();
    await redis?.dispose();
    await db?.$client.end();
  });

  const states = () =>
    withPlatform(db, 'test: read', async (tx) => ({
      hosts: Object.fromEntries(
        (
          await tx
            .select({ id: schema.hosts.id, state: schema.hosts.state })
            .from(schema.hosts)
            .where(inArray(schema.hosts.id, Object.values(hostIds)))
        ).map((h) => [h.id, h.state]),
      ),
      vms: Object.fromEntries(
        (
          await tx
            .select({ id: schema.vms.id, state: schema.vms.observedState })
            .from(schema.vms)
            .where(inArray(schema.vms.id, Object.values(vmIds)))
        ).map((v) => [v.id, v.state]),
      ),
    }));

  it('the scheduled pass marks the silent host unreachable and its VMs unknown, and nothing else', async () => {
    monitor = new HostMonitorService(
      workerConfigSchema.parse({
        REDIS_URL: redis.url,
        DATABASE_URL: stack.postgres.appUrl,
        HOST_HEARTBEAT_TIMEOUT_MS: '60000',
        HOST_MONITOR_EVERY_MS: '500',
        LOG_LEVEL: 'silent',
      }),
    );
    await monitor.onApplicationBootstrap();
    // Poll until the scheduler's job has run; the assertions below are on the outcome only.
    while ((await states()).hosts[hostIds.silent] !== 'unreachable')
      await new Promise((r) => setTimeout(r, 200));
    const after = await states();
    expect(after.hosts).toEqual({
      [hostIds.silent]: 'unreachable',
      [hostIds.fresh]: 'up',
      [hostIds.never]: 'up',
      [hostIds.draining]: 'draining',
    });
    expect(after.vms).toEqual({
      [vmIds.running]: 'unknown',
      [vmIds.stopped]: 'unknown',
      [vmIds.deleted]: 'deleted',
      [vmIds.fresh]: 'running',
      [vmIds.draining]: 'unknown',
    });
    const audit = await withPlatform(db, 'test: read audit', (tx) =>
      tx.select().from(schema.auditEvents).where(eq(schema.auditEvents.targetId, hostIds.silent)),
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      action: 'host.state.change',
      actorType: 'system',
      details: { from: 'up', to: 'unreachable' },
    });
  }, 60_000);
});
