/**
 * Rows that put simulated agent processes in front of the workflows: per agent, an `up` host row
 * with its agent address, a fabric only that host reaches, and a tenant network on that fabric,
 * so a VM on network i is placed on host i. And the cleanup of those rows and of everything a
 * test tenant's workflows made (audit events are append-only and stay, with their tenant).
 *
 * For tests only; never imported by the worker itself.
 */
import { eq, inArray } from 'drizzle-orm';
import { schema, withPlatform, type Db } from '@palisade/db';
import type { AgentProcess } from './agent-process';

export interface HostFixture {
  hosts: string[];
  fabrics: string[];
  networks: string[];
}

export async function insertHostsWithNetworks(
  db: Db,
  p: { tenantId: string; agents: AgentProcess[]; prefix: string; cidr: string; gateway: string },
): Promise<HostFixture> {
  const out: HostFixture = { hosts: [], fabrics: [], networks: [] };
  await withPlatform(db, 'test fixture: hosts and networks', async (tx) => {
    for (const [i, agent] of p.agents.entries()) {
      const [host] = await tx
        .insert(schema.hosts)
        .values({
          name: agent.name,
          state: 'up',
          agentUrl: agent.url,
          cpus: 8,
          ramMib: 8192,
          diskGib: 100,
          securityModels: ['selinux', 'dac'],
          acceleration: 'kvm',
          compliance: { status: 'compliant' },
        })
        .returning();
      const [fabric] = await tx
        .insert(schema.fabrics)
        .values({
          name: `${p.prefix}-${i}`,
          type: 'vxlan',
          device: 'ul0',
          segmentRanges: '100-200',
        })
        .returning();
      await tx.insert(schema.hostFabrics).values({ hostId: host!.id, fabricId: fabric!.id });
      const [network] = await tx
        .insert(schema.networks)
        .values({
          tenantId: p.tenantId,
          fabricId: fabric!.id,
          name: `${p.prefix}-net-${i}`,
          segmentType: 'vxlan',
          segmentId: 100 + i,
          cidr: p.cidr,
          gateway: p.gateway,
          status: 'active',
        })
        .returning();
      out.hosts.push(host!.id);
      out.fabrics.push(fabric!.id);
      out.networks.push(network!.id);
    }
  });
  return out;
}

/** Removes the tenant's operations, snapshots, volumes, VMs, SSH keys and networks, then the
 *  fixture's hosts and fabrics. */
export async function removeTenantWorkloads(db: Db, tenantId: string, f: HostFixture) {
  await withPlatform(db, 'test cleanup: workloads', async (tx) => {
    await tx.delete(schema.operations).where(eq(schema.operations.tenantId, tenantId));
    await tx.delete(schema.snapshots).where(eq(schema.snapshots.tenantId, tenantId));
    await tx.delete(schema.volumes).where(eq(schema.volumes.tenantId, tenantId));
    await tx.delete(schema.vms).where(eq(schema.vms.tenantId, tenantId));
    await tx.delete(schema.sshKeys).where(eq(schema.sshKeys.tenantId, tenantId));
    await tx.delete(schema.networks).where(eq(schema.networks.tenantId, tenantId));
    if (f.hosts.length === 0) return;
    await tx.delete(schema.hostFabrics).where(inArray(schema.hostFabrics.hostId, f.hosts));
    await tx.delete(schema.fabrics).where(inArray(schema.fabrics.id, f.fabrics));
    await tx.delete(schema.hosts).where(inArray(schema.hosts.id, f.hosts));
  });
}
