/**
 * The agent's host-operation routes added for issue 4, end to end over real mTLS: a real agent
 * process (AGENT_HYPERVISOR=simulated) answering the worker's `AgentClient`, with the agent's
 * real image store, and an HTTP image source on 127.0.0.1 (loopback only).
 *
 * Proven, for each route, the success and its refusals: a volume grows but never shrinks; a
 * segment with a running VM's tap stays; a reboot is a real cycle (the domain gets a new runtime
 * ID, the live memory hard limit survives) done once per operation ID; snapshots are refused on
 * a running VM and revert a stopped one; a fetched image enters the store only when its checksum
 * and format are right, and a wrong one leaves no file behind.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentVmDefinition } from '@palisade/contracts';
import { StepRefused } from '../operations/engine';
import { startAgentProcess, type AgentProcess } from '../testing/agent-process';
import { controlPlaneClientTls } from './agent-client';

const MiB = 1024 * 1024;
const op = () => randomUUID();
const key = Buffer.alloc(32, 5).toString('base64');

/** The refusal the client turned the agent's 4xx into (code and message). */
async function refusal(p: Promise<unknown>): Promise<StepRefused> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StepRefused);
  return e as StepRefused;
}

function qcow2(file: string, size: string, backing?: string): { bytes: Buffer; checksum: string } {
  execFileSync('qemu-img', [
    'create',
    '-q',
    '-f',
    'qcow2',
    ...(backing ? ['-b', backing, '-F', 'qcow2'] : []),
    file,
    size,
  ]);
  const bytes = readFileSync(file);
  return { bytes, checksum: createHash('sha256').update(bytes).digest('hex') };
}

describe('agent host operations: resize, segments, reboot, snapshots, image fetch (mTLS)', () => {
  let dir: string;
  let agent: AgentProcess;
  let server: Server;
  let source: string;
  const files: Record<string, Buffer> = {};
  let good: { checksum: string };
  let backed: { checksum: string };

  const vmId = randomUUID();
  const volumeId = randomUUID();
  const segment = { type: 'vxlan' as const, id: 4100 + Math.floor(Math.random() * 1000) };
  const vm = (): AgentVmDefinition => ({
    vmId,
    tenantId: randomUUID(),
    name: `ops-${vmId.slice(0, 8)}`,
    specRevision: 1,
    vcpus: 1,
    memoryMiB: 128,
    cpu: { shares: 1024, quotaUs: -1, periodUs: 100_000 },
    memtune: { hardLimitMiB: 256 },
    blkio: { weight: 500 },
    isolation: { svirt: 'required', mcs: { c1: 11, c2: 12 } },
    console: { vnc: 'none' },
    disks: [{ id: volumeId, volumeId, bootOrder: 1, iotune: {} }],
    nics: [
      {
        id: randomUUID(),
        mac: '52:54:00:12:34:56',
        ip: '10.20.0.5',
        prefixLength: 24,
        segment,
        bandwidth: { averageKBps: 1000 },
      },
    ],
    boot: { kind: 'disk' },
    sshAuthorizedKeys: [],
  });
  const domainId = async () =>
    /<domain[^>]* id='(\d+)'/.exec((await agent.client.get(vmId))!.xml)?.[1];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'palisade-agentops-'));
    const tls = await controlPlaneClientTls(path.join(dir, 'pki'));
    const g = qcow2(path.join(dir, 'good.qcow2'), '16M');
    const b = qcow2(path.join(dir, 'backed.qcow2'), '16M', path.join(dir, 'good.qcow2'));
    good = g;
    backed = b;
    files['/good.qcow2'] = g.bytes;
    files['/backed.qcow2'] = b.bytes;
    // Loopback only (traffic rule): the agent downloads from this server on 127.0.0.1.
    server = createServer((req, res) => {
      const body = files[req.url ?? ''];
      if (!body) return res.writeHead(404).end();
      res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    source = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    agent = await startAgentProcess({
      dir,
      name: 'ops-host',
      tls,
      env: { AGENT_IMAGE_FETCH_MAX_BYTES: String(4 * MiB), AGENT_STOP_TIMEOUT_MS: '1000' },
    });
    await agent.client.ensureVolume({ operationId: op(), volumeId, sizeBytes: 64 * MiB, key });
    await agent.client.ensureRunning({ operationId: op(), vm: vm(), keys: { [volumeId]: key } });
  });

  afterAll(async () => {
    agent?.proc.kill();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('volumes/resize', () => {
    it('refuses to resize a running VM volume, and names the VM', async () => {
      const e = await refusal(
        agent.client.resizeVolume({ operationId: op(), volumeId, sizeBytes: 128 * MiB, key }),
      );
      expect(e.code).toBe('resource.invalid_state');
      expect(e.message).toMatch(/stop the VM/);
    });

    it('refuses to shrink, naming sizeBytes, and leaves the size alone', async () => {
      const e = await refusal(
        agent.client.resizeVolume({ operationId: op(), volumeId, sizeBytes: 32 * MiB, key }),
      );
      expect(e.code).toBe('common.validation_failed');
      expect(e.message).toMatch(/^sizeBytes: .*only grow/);
    });

    it('answers 400 naming the field for a bad body', async () => {
      const e = await refusal(
        agent.client.resizeVolume({ operationId: op(), volumeId: 'nope', sizeBytes: 1, key }),
      );
      expect(e.code).toBe('common.validation_failed');
      expect(e.message).toMatch(/^volumeId/);
    });

    it('an unknown volume is 404', async () => {
      const e = await refusal(
        agent.client.resizeVolume({
          operationId: op(),
          volumeId: randomUUID(),
          sizeBytes: 128 * MiB,
          key,
        }),
      );
      expect(e.code).toBe('common.not_found');
    });
  });

  describe('segments/remove', () => {
    it('is refused while a running VM has a tap on the bridge', async () => {
      const e = await refusal(agent.client.removeSegment({ operationId: op(), segment }));
      expect(e.code).toBe('common.conflict');
      expect(e.message).toMatch(/in use/);
    });

    it('removes an unused segment, and a repeat succeeds', async () => {
      const other = { type: 'vxlan' as const, id: segment.id + 1 };
      await agent.client.ensureSegment({ operationId: op(), segment: other });
      const o = op();
      expect(await agent.client.removeSegment({ operationId: o, segment: other })).toEqual({
        bridge: `pbr-x${other.id}`,
        removed: true,
      });
      expect(await agent.client.removeSegment({ operationId: o, segment: other })).toMatchObject({
        removed: true,
      });
    });
  });

  describe('vms/:id/reboot', () => {
    it('cycles the domain once per operation ID and keeps the live memory hard limit', async () => {
      const before = await domainId();
      expect((await agent.client.get(vmId))!.xml).toMatch(/<hard_limit[^>]*>262144</);
      const o = op();
      expect(await agent.client.reboot(vmId, { operationId: o })).toMatchObject({
        state: 'running',
      });
      const after = await domainId();
      expect(after).not.toBe(before);
      expect((await agent.client.get(vmId))!.xml).toMatch(/<hard_limit[^>]*>262144</);
      // The same operation again: answered, not rebooted a second time.
      expect(await agent.client.reboot(vmId, { operationId: o })).toMatchObject({
        state: 'running',
      });
      expect(await domainId()).toBe(after);
    });

    it('an unknown VM is 404; a bad key is 400 naming the field', async () => {
      expect((await refusal(agent.client.reboot(randomUUID(), { operationId: op() }))).code).toBe(
        'common.not_found',
      );
      const e = await refusal(
        agent.client.reboot(vmId, { operationId: op(), keys: { [volumeId]: 'short' } }),
      );
      expect(e.message).toMatch(/^keys\./);
    });
  });

  describe('vms/:id/snapshots', () => {
    it('refuses a snapshot of a running VM, and takes none', async () => {
      const e = await refusal(
        agent.client.snapshot(vmId, 'create', {
          operationId: op(),
          name: 'before',
          keys: { [volumeId]: key },
        }),
      );
      expect(e.code).toBe('common.conflict');
      expect(e.message).toMatch(/running/);
      expect(await agent.client.listSnapshots(vmId)).toEqual({ items: [] });
    });

    it('on a stopped VM: create (twice), revert, delete; a bad name and a missing snapshot are refused', async () => {
      await agent.client.stop(op(), vmId, true);
      const keys = { [volumeId]: key };
      const o = op();
      expect(
        await agent.client.snapshot(vmId, 'create', { operationId: o, name: 'before', keys }),
      ).toEqual({ items: ['before'] });
      expect(
        await agent.client.snapshot(vmId, 'create', { operationId: o, name: 'before', keys }),
      ).toEqual({ items: ['before'] });
      expect(
        await agent.client.snapshot(vmId, 'revert', { operationId: op(), name: 'before', keys }),
      ).toEqual({ items: ['before'] });

      const missing = await refusal(
        agent.client.snapshot(vmId, 'revert', { operationId: op(), name: 'nope', keys }),
      );
      expect(missing.code).toBe('common.not_found');
      const bad = await refusal(
        agent.client.snapshot(vmId, 'create', { operationId: op(), name: '-x y', keys }),
      );
      expect(bad.message).toMatch(/^name: /);
      const noKey = await refusal(
        agent.client.snapshot(vmId, 'create', { operationId: op(), name: 'nokey', keys: {} }),
      );
      expect(noKey.code).toBe('common.validation_failed');

      expect(
        await agent.client.snapshot(vmId, 'delete', { operationId: op(), name: 'before', keys }),
      ).toEqual({ items: [] });
      expect(await agent.client.listSnapshots(vmId)).toEqual({ items: [] });
    });

    it('a stopped VM grows its volume; a repeat converges', async () => {
      const o = op();
      const r = await agent.client.resizeVolume({
        operationId: o,
        volumeId,
        sizeBytes: 128 * MiB,
        key,
      });
      expect(r).toMatchObject({ volumeId, virtualSizeBytes: 128 * MiB });
      expect(
        await agent.client.resizeVolume({ operationId: o, volumeId, sizeBytes: 128 * MiB, key }),
      ).toMatchObject({ virtualSizeBytes: 128 * MiB });
    });

    it('a reboot of a stopped VM is refused (start it instead)', async () => {
      const e = await refusal(agent.client.reboot(vmId, { operationId: op() }));
      expect(e.code).toBe('resource.invalid_state');
    });
  });

  describe('images/ensure with sourceUrl', () => {
    const images = () => readdirSync(path.join(agent.stateDir, 'images')).sort();

    it('downloads, verifies and stores the image; a repeat finds it in place', async () => {
      const input = {
        operationId: op(),
        checksum: good.checksum,
        format: 'qcow2' as const,
        sourceUrl: `${source}/good.qcow2`,
      };
      expect(await agent.client.ensureImage(input)).toEqual({
        checksum: good.checksum,
        format: 'qcow2',
        virtualSizeBytes: 16 * MiB,
      });
      expect(images()).toContain(`${good.checksum}.qcow2`);
      expect(await agent.client.ensureImage(input)).toMatchObject({ checksum: good.checksum });
    });

    it('a wrong checksum is refused and leaves no file behind', async () => {
      const wrong = 'a'.repeat(64);
      const before = images();
      const e = await refusal(
        agent.client.ensureImage({
          operationId: op(),
          checksum: wrong,
          format: 'qcow2',
          sourceUrl: `${source}/good.qcow2`,
        }),
      );
      expect(e.code).toBe('agent.image_invalid');
      expect(images()).toEqual(before);
    });

    it('an image with a backing file is refused and not stored', async () => {
      const before = images();
      const e = await refusal(
        agent.client.ensureImage({
          operationId: op(),
          checksum: backed.checksum,
          format: 'qcow2',
          sourceUrl: `${source}/backed.qcow2`,
        }),
      );
      expect(e.code).toBe('agent.image_invalid');
      expect(e.message).toMatch(/backing or data file/);
      expect(images()).toEqual(before);
    });

    it('an image over the size limit is refused and not stored', async () => {
      const big = qcow2(path.join(dir, 'big.qcow2'), '16M');
      files['/big.qcow2'] = Buffer.concat([big.bytes, Buffer.alloc(5 * MiB)]);
      const checksum = createHash('sha256').update(files['/big.qcow2']).digest('hex');
      const before = images();
      const e = await refusal(
        agent.client.ensureImage({
          operationId: op(),
          checksum,
          format: 'qcow2',
          sourceUrl: `${source}/big.qcow2`,
        }),
      );
      expect(e.code).toBe('agent.image_invalid');
      expect(e.message).toMatch(/larger than this host accepts/);
      expect(images()).toEqual(before);
    });

    it('a source answering 404 is image_missing; a non-http URL is 400 naming sourceUrl', async () => {
      const e = await refusal(
        agent.client.ensureImage({
          operationId: op(),
          checksum: 'b'.repeat(64),
          format: 'qcow2',
          sourceUrl: `${source}/nothing`,
        }),
      );
      expect(e.code).toBe('agent.image_missing');
      const bad = await refusal(
        agent.client.ensureImage({
          operationId: op(),
          checksum: 'b'.repeat(64),
          format: 'qcow2',
          sourceUrl: 'file:///etc/passwd',
        }),
      );
      expect(bad.message).toMatch(/^sourceUrl/);
    });
  });
});
