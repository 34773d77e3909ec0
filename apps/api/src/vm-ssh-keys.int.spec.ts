/**
 * A VM's SSH keys against the real stack (Postgres, Keycloak tokens): vms.create copies the keys
 * into vm_ssh_keys in the VM's transaction, vms.get/list show them, another tenant's key id is
 * not found and creates nothing, and a VM keeps a key its tenant deleted since (the snapshot is
 * what the worker hands the agent's seed; the workflow test in apps/worker proves that part).
 * The keys are real ones from ssh-keygen, so the fingerprints are the ones `ssh-keygen -lf` prints.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, type Operation, type SshKey, type Vm } from '@palisade/contracts';
import { schema, withPlatform } from '@palisade/db';
import { endOperation, quota, roomy, seedCatalog, type Catalog } from './testing/fixtures';
import { startTestApi, type TestApi } from './testing/harness';

type Accepted = { operation: Operation; vm: Vm };

/** A fresh OpenSSH key pair; the public line and the fingerprint ssh-keygen reports for it. */
function realKey(dir: string, name: string, type: 'ed25519' | 'ecdsa') {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', `${name}@test`, '-f', file]);
  const publicKey = readFileSync(`${file}.pub`, 'utf8').trim();
  const fingerprint = execFileSync('ssh-keygen', ['-lf', `${file}.pub`], { encoding: 'utf8' })
    .split(' ')[1]!
    .trim();
  return { publicKey, fingerprint };
}

describe('VM SSH keys (real Postgres, real Keycloak tokens)', () => {
  let api: TestApi;
  let cat: Catalog;
  let dir: string;
  let tenantA: { id: string; slug: string };
  let tenantB: { id: string; slug: string };
  const network: Record<'a' | 'b', string> = { a: '', b: '' };
  const keys: Record<'k1' | 'k2', SshKey & { local: string }> = {} as never;

  const asA = (proc: string, input: unknown, mutation = true) =>
    api.call('alice', proc, { tenant: tenantA.id, mutation, input });
  const asB = (proc: string, input: unknown, mutation = true) =>
    api.call('bob', proc, { tenant: tenantB.id, mutation, input });
  const vmInput = (t: 'a' | 'b', name: string, sshKeyIds: string[]) => ({
    name,
    flavorId: cat.small,
    imageId: cat.image,
    networkId: network[t],
    sshKeyIds,
  });
  const rowsOf = (vmId: string) =>
    withPlatform(api.db, 'test: vm ssh keys', (tx) =>
      tx
        .select()
        .from(schema.vmSshKeys)
        .where(eq(schema.vmSshKeys.vmId, vmId))
        .orderBy(schema.vmSshKeys.position),
    );
  /** What tenant B holds that a refused create must not change. */
  const holdingsOfB = () =>
    withPlatform(api.db, 'test: tenant B holdings', async (tx) => ({
      vms: await tx.select().from(schema.vms).where(eq(schema.vms.tenantId, tenantB.id)),
      nics: await tx.select().from(schema.nics).where(eq(schema.nics.tenantId, tenantB.id)),
      vmSshKeys: await tx
        .select()
        .from(schema.vmSshKeys)
        .where(eq(schema.vmSshKeys.tenantId, tenantB.id)),
      operations: await tx
        .select()
        .from(schema.operations)
        .where(eq(schema.operations.tenantId, tenantB.id)),
      usage: await tx
        .select()
        .from(schema.tenantUsage)
        .where(eq(schema.tenantUsage.tenantId, tenantB.id)),
    }));

  beforeAll(async () => {
    api = await startTestApi();
    cat = await seedCatalog(api.db);
    dir = mkdtempSync(path.join(os.tmpdir(), 'palisade-vmkeys-'));
    [tenantA, tenantB] = (await api.tenants('keys-a', 'keys-b')) as [
      typeof tenantA,
      typeof tenantB,
    ];
    await api.member('alice', tenantA.id, 'owner');
    await api.member('bob', tenantB.id, 'owner');
    for (const [t, id, call] of [
      ['a', tenantA.id, asA],
      ['b', tenantB.id, asB],
    ] as const) {
      await quota(api.db, id, roomy);
      const r = await call('networks.create', { name: `net-${t}`, cidr: '10.30.0.0/24' });
      expect(r.status).toBe(200);
      const accepted = r.data as { network: { id: string }; operation: Operation };
      network[t] = accepted.network.id;
      await endOperation(api.db, accepted.operation.id);
    }
    for (const [name, type] of [
      ['k1', 'ed25519'],
      ['k2', 'ecdsa'],
    ] as const) {
      const local = realKey(dir, name, type);
      const r = await asA('sshKeys.create', { name: `key-${name}`, publicKey: local.publicKey });
      expect(r.status).toBe(200);
      const key = r.data as SshKey;
      // The API's fingerprint is the one ssh-keygen prints.
      expect(key.fingerprint).toBe(local.fingerprint);
      keys[name] = { ...key, local: local.publicKey };
    }
  });
  afterAll(async () => {
    await api?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a VM created with two keys has both, in order, in its rows and in get, list and the answer', async () => {
    const r = await asA('vms.create', vmInput('a', 'two-keys', [keys.k2.id, keys.k1.id]));
    expect(r.status).toBe(200);
    const { vm, operation } = r.data as Accepted;
    const expected = [
      { id: keys.k2.id, name: 'key-k2', fingerprint: keys.k2.fingerprint },
      { id: keys.k1.id, name: 'key-k1', fingerprint: keys.k1.fingerprint },
    ];
    expect(vm.sshKeys).toEqual(expected);

    const rows = await rowsOf(vm.id);
    expect(
      rows.map((k) => ({
        tenantId: k.tenantId,
        position: k.position,
        sshKeyId: k.sshKeyId,
        publicKey: k.publicKey,
      })),
    ).toEqual([
      { tenantId: tenantA.id, position: 0, sshKeyId: keys.k2.id, publicKey: keys.k2.local },
      { tenantId: tenantA.id, position: 1, sshKeyId: keys.k1.id, publicKey: keys.k1.local },
    ]);
    // The rows were written with the VM and its operation: one transaction.
    const [op] = await withPlatform(api.db, 'test: op', (tx) =>
      tx.select().from(schema.operations).where(eq(schema.operations.id, operation.id)),
    );
    expect(op?.targetId).toBe(vm.id);

    expect((await asA('vms.get', { id: vm.id }, false)).data).toMatchObject({
      sshKeys: expected,
    });
    const listed = (await asA('vms.list', { name: 'two-keys' }, false)).data as { items: Vm[] };
    expect(listed.items.map((v) => v.sshKeys)).toEqual([expected]);
    const viaRest = await api.rest('alice', 'GET', `/vms/${vm.id}`, { tenant: tenantA.id });
    expect((viaRest.data as Vm).sshKeys).toEqual(expected);

    // A VM created without keys lists none.
    const bare = await asA('vms.create', vmInput('a', 'no-keys', []));
    expect((bare.data as Accepted).vm.sshKeys).toEqual([]);
  });

  it("tenant B gets 404 naming the field for tenant A's key id, and nothing is created", async () => {
    const before = await holdingsOfB();
    const viaTrpc = await asB('vms.create', vmInput('b', 'intruder', [keys.k1.id]));
    expect(viaTrpc).toMatchObject({ status: 404, code: ErrorCode.NOT_FOUND });
    expect(viaTrpc.message).toMatch(/^sshKeyIds\.0: /);
    const viaRest = await api.rest('bob', 'POST', '/vms', {
      tenant: tenantB.id,
      body: vmInput('b', 'intruder', [keys.k1.id]),
    });
    expect(viaRest).toMatchObject({ status: 404, code: ErrorCode.NOT_FOUND });
    expect(await holdingsOfB()).toEqual(before);
    // A's key is untouched.
    expect(((await asA('sshKeys.list', undefined, false)).data as SshKey[]).length).toBe(2);
  });

  it('a missing key after a good one is 404 naming its position, and nothing is created', async () => {
    const r = await asA('vms.create', vmInput('a', 'half', [keys.k1.id, crypto.randomUUID()]));
    expect(r).toMatchObject({ status: 404, code: ErrorCode.NOT_FOUND });
    expect(r.message).toMatch(/^sshKeyIds\.1: /);
    const listed = (await asA('vms.list', { name: 'half' }, false)).data as { items: Vm[] };
    expect(listed.items).toEqual([]);
  });

  it('a key whose comment is not printable ASCII is refused naming publicKey (the seed would refuse it)', async () => {
    const { publicKey } = realKey(dir, 'k3', 'ed25519');
    const [type, b64] = publicKey.split(' ');
    const r = await asA('sshKeys.create', {
      name: 'key-k3',
      publicKey: `${type} ${b64} josé\u2028x`,
    });
    expect(r).toMatchObject({ status: 400, code: ErrorCode.VALIDATION_FAILED });
    expect(r.message).toMatch(/^publicKey: .*printable ASCII/);
    const names = ((await asA('sshKeys.list', undefined, false)).data as SshKey[]).map(
      (k) => k.name,
    );
    expect(names).not.toContain('key-k3');
  });

  it('the same key twice is a validation error naming sshKeyIds', async () => {
    const r = await asA('vms.create', vmInput('a', 'twice', [keys.k1.id, keys.k1.id]));
    expect(r).toMatchObject({ status: 400, code: ErrorCode.VALIDATION_FAILED });
    expect(r.message).toMatch(/sshKeyIds: must not list a key twice/);
  });

  it('after its key is deleted, the VM still lists it and keeps the public key it was created with', async () => {
    const created = await asA('vms.create', vmInput('a', 'keeps-key', [keys.k1.id]));
    const { vm } = created.data as Accepted;
    const [before] = await rowsOf(vm.id);

    const removed = await asA('sshKeys.delete', { id: keys.k1.id });
    expect(removed.status).toBe(200);
    const ids = ((await asA('sshKeys.list', undefined, false)).data as SshKey[]).map((k) => k.id);
    expect(ids).not.toContain(keys.k1.id);

    const got = (await asA('vms.get', { id: vm.id }, false)).data as Vm;
    expect(got.sshKeys).toEqual([{ id: null, name: 'key-k1', fingerprint: keys.k1.fingerprint }]);
    const [after] = await rowsOf(vm.id);
    expect(after).toEqual({ ...before, sshKeyId: null });
    expect(after?.publicKey).toBe(keys.k1.local);
    // The deleted key can no longer be given to a new VM.
    const again = await asA('vms.create', vmInput('a', 'late', [keys.k1.id]));
    expect(again).toMatchObject({ status: 404, code: ErrorCode.NOT_FOUND });
  });
});
