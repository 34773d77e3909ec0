/**
 * Snapshots of a LUKS volume through the agent on real libvirt (qemu:///system; the VM has no
 * NIC, so no bridge is created and no traffic is sent). A real agent process
 * (AGENT_HYPERVISOR=libvirt) answers the worker's `AgentClient` over mTLS.
 *
 * Proven: on a running VM the agent refuses the snapshot; once it is off, a pattern written
 * through the LUKS layer (qemu-io with the key, as the guest would) survives an overwrite when
 * the agent reverts to the snapshot taken before it; the encrypted file never holds the
 * plaintext pattern. The key travels only in request bodies.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removePartition } from '@palisade/testkit';
import { StepRefused } from '../operations/engine';
import { startAgentProcess, type AgentProcess } from '../testing/agent-process';
import { controlPlaneClientTls } from './agent-client';

const run = promisify(execFile);

describe('agent snapshots on real libvirt: create, write, revert on a LUKS volume', () => {
  let dir: string;
  let agent: AgentProcess;
  const vmId = randomUUID();
  const volumeId = randomUUID();
  const tenantId = randomUUID();
  const key = Buffer.alloc(32, 6).toString('base64');
  const keys = { [volumeId]: key };
  const op = () => randomUUID();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'palisade-agentsnap-'));
    // QEMU runs as libvirt-qemu and must traverse to the volume (mkdtemp makes 0700).
    chmodSync(dir, 0o711);
    const tls = await controlPlaneClientTls(path.join(dir, 'pki'));
    agent = await startAgentProcess({
      dir,
      name: 'snap-host',
      tls,
      env: {
        AGENT_HYPERVISOR: 'libvirt',
        LIBVIRT_URI: 'qemu:///system',
        AGENT_LUKS_ITER_MS: '100',
        AGENT_NO_BANDWIDTH: 'true',
      },
    });
    await agent.client.ensureVolume({ operationId: op(), volumeId, sizeBytes: 16 << 20, key });
    await agent.client.ensureRunning({
      operationId: op(),
      vm: {
        vmId,
        tenantId,
        name: `snap-${vmId.slice(0, 8)}`,
        specRevision: 1,
        vcpus: 1,
        memoryMiB: 64,
        cpu: { shares: 1024, quotaUs: -1, periodUs: 100_000 },
        blkio: { weight: 500 },
        isolation: { svirt: 'preferred', mcs: { c1: 903, c2: 904 } },
        console: { vnc: 'none' },
        disks: [{ id: volumeId, volumeId, bootOrder: 1, iotune: {} }],
        nics: [],
        boot: { kind: 'disk' },
        sshAuthorizedKeys: [],
      },
      keys,
    });
  });

  afterAll(async () => {
    try {
      if (agent?.proc.exitCode === null) {
        await agent.client.destroy(op(), vmId).catch(() => undefined);
        await agent.client.deleteVolume(op(), volumeId).catch(() => undefined);
        agent.proc.kill();
      }
    } finally {
      // The agent made the tenant's cgroup partition (the designer's `tenantPartition`).
      removePartition(`/machine/palisade-${tenantId.replace(/-/g, '')}`);
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a snapshot while the VM runs', async () => {
    const e = await agent.client
      .snapshot(vmId, 'create', { operationId: op(), name: 'before', keys })
      .catch((err: unknown) => err);
    expect(e).toBeInstanceOf(StepRefused);
    expect((e as StepRefused).code).toBe('common.conflict');
    expect(await agent.client.listSnapshots(vmId)).toEqual({ items: [] });
  });

  it('after a stop, revert brings back what was written before the snapshot', async () => {
    expect((await agent.client.stop(op(), vmId, true)).state).toBe('shutoff');
    const volume = path.join(agent.stateDir, 'volumes', `${volumeId}.qcow2`);
    const keyFile = path.join(dir, '.key');
    writeFileSync(keyFile, key, { mode: 0o600 });
    // qemu-io reads and writes through the LUKS layer, as the guest would.
    const io = async (cmd: string) =>
      (
        await run('qemu-io', [
          '--object',
          `secret,id=k,file=${keyFile},format=raw`,
          '--image-opts',
          `driver=qcow2,file.filename=${volume},encrypt.key-secret=k`,
          '-c',
          cmd,
        ])
      ).stdout;
    await io('write -P 0x5a 0 64k');
    expect(
      await agent.client.snapshot(vmId, 'create', { operationId: op(), name: 'before', keys }),
    ).toEqual({ items: ['before'] });
    await io('write -P 0xa5 0 64k');
    expect(await io('read -P 0xa5 0 64k')).not.toMatch(/Pattern verification failed/);

    await agent.client.snapshot(vmId, 'revert', { operationId: op(), name: 'before', keys });
    expect(await io('read -P 0x5a 0 64k')).not.toMatch(/Pattern verification failed/);
    expect(await io('read -P 0x5a 0 64k')).toMatch(/read 65536\/65536 bytes/);
    // Encrypted at rest: 64 KiB of 0x5a written through LUKS is not in the file in the clear.
    expect(readFileSync(volume).includes(Buffer.alloc(4096, 0x5a))).toBe(false);

    expect(
      await agent.client.snapshot(vmId, 'delete', { operationId: op(), name: 'before', keys }),
    ).toEqual({ items: [] });
  });
});
