/**
 * What `npm run dev` puts in the dev database (through ./main.ts) so that the demo users can
 * create a VM in the portal straight away. Each item is created only when missing, so every start
 * runs it (idempotent; an operator's later changes to these rows are kept):
 * - the public image `palisade-tiny` (Palisade Tiny, the file `npm run dev` put in the dev
 *   agent's image store under its checksum; a rebuilt image updates checksum and size);
 * - the flavor `dev.tiny` (1 vCPU, 192 MiB, 1 GiB, half a core): sVirt preferred, not required,
 *   because this kernel has no SELinux (DESIGN.md), so a required flavor would never be placed;
 * - the VXLAN fabric `dev-vxlan` on the dev host's underlay, and the dev host wired to it;
 * - the demo tenants of the realm file (acme: alice, globex: bob), onboarded as
 *   `admin.tenants.create` does (Keycloak group adopted, owner found by email), with a quota.
 *
 * Development only: it writes as `cli:dev-seed` in the platform scope, with an audit row for
 * everything it creates. Never run it against a production database.
 */
import os from 'node:os';
import { and, eq, isNull } from 'drizzle-orm';
import {
  getHostByName,
  getTenantBySlug,
  insertMember,
  insertTenant,
  recordAudit,
  schema,
  setQuota,
  withPlatform,
  type AuditEventInput,
  type Db,
  type ResourceCounts,
  type Tx,
} from '@palisade/db';
import type { IdentityAdmin } from '../../identity/identity-admin';

export interface DevSeed {
  /** The dev host's name (its join token created the row). */
  hostName: string;
  fabric: { name: string; device: string; segmentRanges: string };
  image: { name: string; checksum: string; sizeBytes: number };
  flavor: { name: string; vcpus: number; ramMib: number; diskGib: number; cpuQuotaUs: number };
  tenants: { slug: string; name: string; ownerEmail: string; quota: Partial<ResourceCounts> }[];
}

/** The demo tenants of infra/keycloak/palisade-realm.json (its users' groups and emails). */
export const DEV_TENANTS: DevSeed['tenants'] = [
  { slug: 'acme', name: 'Acme', ownerEmail: 'alice@acme.test', quota: demoQuota() },
  { slug: 'globex', name: 'Globex', ownerEmail: 'bob@globex.test', quota: demoQuota() },
];

function demoQuota(): Partial<ResourceCounts> {
  // Small: every guest is a TCG QEMU on a shared 2-core machine.
  return { vcpus: 4, ramMiB: 2048, diskGiB: 20, vms: 4, volumes: 8, snapshots: 8, networks: 4 };
}

export function devSeed(p: {
  hostName: string;
  underlayDev: string;
  imageChecksum: string;
  imageSizeBytes: number;
}): DevSeed {
  return {
    hostName: p.hostName,
    fabric: { name: 'dev-vxlan', device: p.underlayDev, segmentRanges: '1000-1999' },
    image: { name: 'palisade-tiny', checksum: p.imageChecksum, sizeBytes: p.imageSizeBytes },
    flavor: { name: 'dev.tiny', vcpus: 1, ramMib: 192, diskGib: 1, cpuQuotaUs: 50_000 },
    tenants: DEV_TENANTS,
  };
}

const ACTOR = `cli:dev-seed`;

function audit(
  action: string,
  target: { type: string; id: string },
  tenantId: string | null,
  details?: Record<string, unknown>,
): AuditEventInput {
  return {
    tenantId,
    actorType: 'system',
    actorId: ACTOR,
    actorName: `dev-seed@${os.hostname()}`,
    action,
    targetType: target.type,
    targetId: target.id,
    outcome: 'success',
    details,
  };
}

async function seedImage(tx: Tx, image: DevSeed['image']): Promise<string> {
  const [row] = await tx
    .select()
    .from(schema.images)
    .where(and(isNull(schema.images.tenantId), eq(schema.images.name, image.name)));
  if (!row) {
    const [created] = await tx
      .insert(schema.images)
      .values({
        name: image.name,
        os: 'palisade-tiny',
        format: 'qcow2',
        sizeBytes: image.sizeBytes,
        checksum: image.checksum,
        visibility: 'public',
        status: 'active',
      })
      .returning();
    await recordAudit(tx, audit('image.create', { type: 'image', id: created!.id }, null, image));
    return `image ${image.name}: created`;
  }
  if (row.checksum === image.checksum) return `image ${image.name}: kept`;
  // A new build of Palisade Tiny (another kernel): VMs made from the old one keep their volumes.
  await tx
    .update(schema.images)
    .set({ checksum: image.checksum, sizeBytes: image.sizeBytes, updatedAt: new Date() })
    .where(eq(schema.images.id, row.id));
  await recordAudit(
    tx,
    audit('image.update', { type: 'image', id: row.id }, null, {
      from: row.checksum,
      to: image.checksum,
    }),
  );
  return `image ${image.name}: checksum updated`;
}

async function seedFlavor(tx: Tx, flavor: DevSeed['flavor']): Promise<string> {
  const [row] = await tx.select().from(schema.flavors).where(eq(schema.flavors.name, flavor.name));
  if (row) return `flavor ${flavor.name}: kept`;
  const [created] = await tx
    .insert(schema.flavors)
    .values({ ...flavor, svirtRequired: false })
    .returning();
  await recordAudit(tx, audit('flavor.create', { type: 'flavor', id: created!.id }, null, flavor));
  return `flavor ${flavor.name}: created`;
}

async function seedFabric(tx: Tx, seed: DevSeed): Promise<string[]> {
  const out: string[] = [];
  let [fabric] = await tx
    .select()
    .from(schema.fabrics)
    .where(eq(schema.fabrics.name, seed.fabric.name));
  if (fabric) out.push(`fabric ${seed.fabric.name}: kept`);
  else {
    [fabric] = await tx
      .insert(schema.fabrics)
      .values({ ...seed.fabric, type: 'vxlan' })
      .returning();
    await recordAudit(
      tx,
      audit('fabric.create', { type: 'fabric', id: fabric!.id }, null, seed.fabric),
    );
    out.push(`fabric ${seed.fabric.name}: created`);
  }
  const host = await getHostByName(tx, { name: seed.hostName });
  if (!host) return [...out, `host ${seed.hostName}: not enrolled yet, no fabric wired`];
  const wired = await tx
    .insert(schema.hostFabrics)
    .values({ hostId: host.id, fabricId: fabric!.id })
    .onConflictDoNothing()
    .returning();
  if (wired.length > 0)
    await recordAudit(
      tx,
      audit('host.fabric.attach', { type: 'host', id: host.id }, null, { fabric: fabric!.name }),
    );
  return [...out, `host ${seed.hostName} on ${fabric!.name}: ${wired.length ? 'wired' : 'kept'}`];
}

async function seedTenant(
  db: Db,
  identity: IdentityAdmin,
  t: DevSeed['tenants'][number],
): Promise<string> {
  const existing = await withPlatform(db, `dev seed: tenant ${t.slug}?`, (tx) =>
    getTenantBySlug(tx, { slug: t.slug }),
  );
  if (existing) return `tenant ${t.slug}: kept`;
  // Keycloak first, as onboarding does: both steps adopt what exists (the realm file's group and
  // user), so a retry after a failure here works.
  const groupId = await identity.ensureTenantGroup(t.slug);
  const owner = await identity.ensureUser(t.ownerEmail);
  await identity.addToGroup(owner.subject, groupId);
  await withPlatform(db, `dev seed: onboard tenant ${t.slug}`, async (tx) => {
    const tenant = await insertTenant(tx, { slug: t.slug, name: t.name, keycloakGroupId: groupId });
    await recordAudit(tx, audit('tenant.create', { type: 'tenant', id: tenant.id }, tenant.id));
    const member = await insertMember(tx, {
      tenantId: tenant.id,
      subject: owner.subject,
      email: t.ownerEmail,
      role: 'owner',
    });
    if (member)
      await recordAudit(
        tx,
        audit('member.invite', { type: 'membership', id: member.id }, tenant.id, {
          email: t.ownerEmail,
          role: 'owner',
          userCreated: owner.created,
        }),
      );
    await setQuota(tx, { tenantId: tenant.id, limits: t.quota });
    await recordAudit(
      tx,
      audit('quota.set', { type: 'tenant', id: tenant.id }, tenant.id, t.quota),
    );
  });
  return `tenant ${t.slug}: created, owner ${t.ownerEmail}`;
}

/** Creates what is missing; returns one line per item saying what it did. */
export async function seedDevDatabase(
  db: Db,
  identity: IdentityAdmin,
  seed: DevSeed,
): Promise<string[]> {
  const catalog = await withPlatform(db, 'dev seed: catalogue', async (tx) => [
    await seedImage(tx, seed.image),
    await seedFlavor(tx, seed.flavor),
    ...(await seedFabric(tx, seed)),
  ]);
  const tenants: string[] = [];
  for (const t of seed.tenants) tenants.push(await seedTenant(db, identity, t));
  return [...catalog, ...tenants];
}

export function parseSeedArgs(argv: readonly string[]) {
  const named = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i]!, argv[i + 1]];
    if (!flag.startsWith('--') || value === undefined)
      throw new Error(`${flag}: expected --flag value pairs`);
    named.set(flag.slice(2), value);
  }
  const need = (k: string) => {
    const v = named.get(k);
    if (!v) throw new Error(`--${k} is required`);
    return v;
  };
  const imageChecksum = need('image-checksum');
  if (!/^[0-9a-f]{64}$/.test(imageChecksum))
    throw new Error('--image-checksum: must be a sha256 in lowercase hex');
  const imageSizeBytes = Number(need('image-size'));
  if (!Number.isSafeInteger(imageSizeBytes) || imageSizeBytes <= 0)
    throw new Error('--image-size: must be a positive whole number of bytes');
  return {
    hostName: need('host'),
    underlayDev: need('underlay'),
    imageChecksum,
    imageSizeBytes,
  };
}
