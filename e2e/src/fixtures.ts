/**
 * Fixtures for the browser tests, written straight into the test stack's Postgres on the audited
 * platform scope (what an operator or a worker would have done), plus calls to the real API with
 * real Keycloak tokens for what a tenant does. Every tenant and catalogue entry gets a random
 * suffix, so tests never depend on each other or on earlier runs in the shared database.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import type { ResourceCounts } from '@palisade/contracts';
import { addMembership, createDb, schema, setQuota, withPlatform, type Db } from '@palisade/db';
import { loadStack, loginWithPassword } from '@palisade/testkit';
import { PORTS } from './global-setup';

export type DemoUser = 'alice' | 'bob' | 'olivia';

export const suffix = () => Math.random().toString(36).slice(2, 8);

/** A real OpenSSH ed25519 public key line (ssh-keygen), so the API's parser sees a real key. */
export function newPublicKey(comment: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'palisade-e2e-key-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', `${dir}/k`]);
    return readFileSync(`${dir}/k.pub`, 'utf8').trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Fixtures {
  db: Db;
  /** Keycloak subject and a fresh access token of a demo user. */
  login(user: DemoUser): Promise<{ sub: string; token: string }>;
  /** A fresh tenant with a random suffix, `members` added with their roles. */
  tenant(
    name: string,
    members: Partial<Record<DemoUser, 'owner' | 'admin' | 'member' | 'viewer'>>,
  ): Promise<{ id: string; slug: string; name: string }>;
  quota(tenantId: string, limits: Partial<ResourceCounts>): Promise<void>;
  /** Two enabled flavors (1 and 4 vCPUs) and a public active image, named with a suffix. */
  catalog(): Promise<{
    small: { id: string; name: string };
    large: { id: string; name: string };
    image: { id: string; name: string };
  }>;
  /** A tRPC mutation against the API under test, as `token`, in `tenant`; throws on refusal. */
  mutate<T>(token: string, tenant: string, proc: string, input: unknown): Promise<T>;
  close(): Promise<void>;
}

export function fixtures(): Fixtures {
  const stack = loadStack('test');
  const db = createDb(stack.postgres.appUrl, { max: 2 });
  return {
    db,
    async login(user) {
      const t = await loginWithPassword({
        keycloakUrl: stack.keycloak.url,
        realm: stack.keycloak.realm,
        clientId: 'palisade-portal',
        redirectUri: `http://localhost:${PORTS.portal}/`,
        username: user,
        password: `${user}-dev-password`,
      });
      return { sub: String(decodeJwt(t.accessToken).sub), token: t.accessToken };
    },
    async tenant(name, members) {
      const s = suffix();
      const [row] = await withPlatform(db, 'e2e fixture: tenant', (tx) =>
        tx
          .insert(schema.tenants)
          .values({ slug: `e2e-${s}`, name: `${name} ${s}` })
          .returning({
            id: schema.tenants.id,
            slug: schema.tenants.slug,
            name: schema.tenants.name,
          }),
      );
      for (const [user, role] of Object.entries(members)) {
        const { sub } = await this.login(user as DemoUser);
        await addMembership(db, { tenantId: row!.id, subject: sub, role }, 'e2e fixture');
      }
      return row!;
    },
    async quota(tenantId, limits) {
      await withPlatform(db, 'e2e fixture: quota', (tx) => setQuota(tx, { tenantId, limits }));
    },
    async catalog() {
      const s = suffix();
      return withPlatform(db, 'e2e fixture: catalogue', async (tx) => {
        const [small, large] = await tx
          .insert(schema.flavors)
          .values([
            { name: `e2e${s}.small`, vcpus: 1, ramMib: 256, diskGib: 2 },
            { name: `e2e${s}.large`, vcpus: 4, ramMib: 1024, diskGib: 8 },
          ])
          .returning({ id: schema.flavors.id, name: schema.flavors.name });
        const [image] = await tx
          .insert(schema.images)
          .values({
            name: `e2e-tiny-${s}`,
            os: 'linux',
            format: 'qcow2',
            sizeBytes: 1 << 20,
            checksum: 'e'.repeat(64),
            visibility: 'public',
            status: 'active',
          })
          .returning({ id: schema.images.id, name: schema.images.name });
        return { small: small!, large: large!, image: image! };
      });
    },
    async mutate<T>(token: string, tenant: string, proc: string, input: unknown): Promise<T> {
      const res = await fetch(`http://127.0.0.1:${PORTS.api}/trpc/${proc}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'x-palisade-tenant': tenant,
          'content-type': 'application/json',
        },
        body: JSON.stringify(input),
      });
      const body = (await res.json()) as { result?: { data: T }; error?: { message: string } };
      if (!body.result) throw new Error(`${proc}: ${res.status} ${body.error?.message}`);
      return body.result.data;
    },
    close: () => db.$client.end(),
  };
}
