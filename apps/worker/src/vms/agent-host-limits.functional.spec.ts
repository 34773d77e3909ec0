/**
 * What the agent does on a real libvirt host whose kernel cannot enforce everything, measured
 * here: a real agent process (AGENT_HYPERVISOR=libvirt, no AGENT_NO_BANDWIDTH) on a private
 * libvirtd of the netns lab, its segments inside the lab's namespace, reached over mTLS by the
 * worker's `AgentClient`. One TCG guest with one NIC; it sends no traffic.
 *
 * Proven: the compliance report states what the kernel answered in the probe's throwaway
 * namespace (VLAN unavailable, bandwidth not enforceable, each with the kernel's words); a VLAN
 * segment is refused with `agent.isolation_unenforceable` and leaves no link behind; a VM on a
 * VXLAN segment starts without `<bandwidth>` on its own (libvirt would fail the start
 * otherwise), its ensure-running answer lists the weakening, and its isolation report reads it
 * back from the live XML ("bandwidth limit not enforced: kernel lacks sfq, ..."). Where the
 * kernel has 802.1Q or sfq the corresponding case is skipped with the reason printed.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentVmDefinition, ComplianceReportWire } from '@palisade/contracts';
import { createNetnsLab, type LabHost, type NetnsLab } from '@palisade/testkit';
import { StepRefused } from '../operations/engine';
import {
  AGENT_START_BOUND_MS,
  startAgentProcess,
  type AgentProcess,
} from '../testing/agent-process';
import { controlPlaneClientTls } from './agent-client';

const exec = promisify(execFile);
const op = () => randomUUID();
const ok = (cmd: string, ...args: string[]) =>
  exec(cmd, args).then(
    () => ({ ok: true, said: '' }),
    (e: { stderr?: string }) => ({ ok: false, said: String(e.stderr ?? '').trim() }),
  );
const links = async (ns: string) =>
  (JSON.parse((await exec('ip', ['-n', ns, '-j', 'link', 'show'])).stdout) as { ifname: string }[])
    .map((l) => l.ifname)
    .sort();

describe('agent on a kernel without 802.1Q or sfq (real libvirt in a netns lab)', () => {
  let lab: NetnsLab;
  let h1: LabHost;
  let agent: AgentProcess;
  /** The test's own attempts, in the lab's second namespace (not the agent's probe). */
  let kernel: { vlan: { ok: boolean; said: string }; sfq: { ok: boolean; said: string } };
  let compliance: ComplianceReportWire;
  const vmId = randomUUID();
  const volumeId = randomUUID();
  const tenantId = randomUUID();
  const key = Buffer.alloc(32, 8).toString('base64');
  const segment = { type: 'vxlan' as const, id: 4321 };

  beforeAll(async () => {
    lab = await createNetnsLab({ libvirt: true, log: (l) => console.log(`[lab] ${l}`) });
    h1 = lab.hosts[0]!;
    // The test asks the kernel itself, in h2 (a namespace the lab made and removes), so the
    // agent's answers are checked against something other than its own probe.
    const ns = lab.hosts[1]!.netns;
    const dev = lab.hosts[1]!.underlayDev;
    kernel = {
      vlan: await ok(
        'ip',
        '-n',
        ns,
        'link',
        'add',
        'link',
        dev,
        'name',
        `${dev}.7`,
        'type',
        'vlan',
        'id',
        '7',
      ),
      sfq: await ok('tc', '-n', ns, 'qdisc', 'add', 'dev', dev, 'root', 'sfq'),
    };
    await ok('ip', '-n', ns, 'link', 'del', `${dev}.7`);
    await ok('tc', '-n', ns, 'qdisc', 'del', 'dev', dev, 'root');
    // libvirt-qemu must reach the volume: the lab's image dir is world-traversable.
    const dir = path.join(lab.imageDir, 'limits');
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    lab.ensurePartition(`/machine/palisade-${tenantId.replace(/-/g, '')}`);
    agent = await startAgentProcess({
      dir,
      name: 'limits-host',
      tls: await controlPlaneClientTls(path.join(dir, 'pki')),
      env: {
        AGENT_HYPERVISOR: 'libvirt',
        LIBVIRT_URI: h1.libvirtUri!,
        AGENT_NETNS: h1.netns,
        AGENT_UNDERLAY_DEV: h1.underlayDev,
        AGENT_UNDERLAY_IP: h1.underlayIp,
        AGENT_TRUNK_DEV: h1.underlayDev,
        AGENT_LUKS_ITER_MS: '100',
      },
    });
    compliance = await agent.client.compliance();
  }, 3 * AGENT_START_BOUND_MS);

  afterAll(async () => {
    if (agent?.proc.exitCode === null) {
      await agent.client.destroy(op(), vmId).catch(() => undefined);
      await agent.client.deleteVolume(op(), volumeId).catch(() => undefined);
      await agent.client.removeSegment({ operationId: op(), segment }).catch(() => undefined);
      agent.proc.kill();
    }
    await lab?.dispose();
  }, 120_000);

  it('the compliance report says what the kernel refused, in its words', () => {
    expect(compliance.network?.vlan).toBe(kernel.vlan.ok);
    expect(compliance.network?.vxlan).toBe(true);
    // Without sfq libvirt cannot shape; with it, other pieces (police, fw) may still be missing.
    if (!kernel.sfq.ok) expect(compliance.network?.bandwidth).toBe(false);
    const vlan = compliance.checks.find((c) => c.id === 'vlan')!;
    const bandwidth = compliance.checks.find((c) => c.id === 'bandwidth')!;
    if (!kernel.vlan.ok) {
      expect(vlan.status).toBe('warn');
      expect(vlan.detail).toContain('VLAN is unavailable');
      expect(vlan.detail).toContain(kernel.vlan.said.replace(/^Error: /, ''));
    } else expect(vlan.status).toBe('pass');
    if (!compliance.network?.bandwidth) {
      expect(bandwidth.status).toBe('fail');
      if (!kernel.sfq.ok)
        expect(bandwidth.detail).toContain(`sfq: ${kernel.sfq.said.replace(/^Error: /, '')}`);
      expect(compliance.status).not.toBe('compliant');
    } else expect(bandwidth.status).toBe('pass');
  });

  it('refuses a VLAN segment where the kernel lacks 802.1Q, and creates nothing', async (ctx) => {
    if (compliance.network?.vlan) {
      console.log('[skip] this kernel has 802.1Q: VLAN segments are allowed here');
      ctx.skip();
      return;
    }
    const before = await links(h1.netns);
    const refused = await agent.client
      .ensureSegment({ operationId: op(), segment: { type: 'vlan', id: 300 } })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(refused).toBeInstanceOf(StepRefused);
    expect((refused as StepRefused).code).toBe('agent.isolation_unenforceable');
    expect((refused as StepRefused).message).toMatch(/lacks 802\.1Q.*VLAN segment 300/);
    expect(await links(h1.netns)).toEqual(before);
  });

  it('starts a VM without <bandwidth> on its own where the kernel cannot shape it, and says so', async (ctx) => {
    if (compliance.network?.bandwidth) {
      console.log('[skip] this kernel shapes bandwidth: nothing is weakened');
      ctx.skip();
      return;
    }
    await agent.client.ensureVolume({ operationId: op(), volumeId, sizeBytes: 16 << 20, key });
    const vm: AgentVmDefinition = {
      vmId,
      tenantId,
      name: `limits-${vmId.slice(0, 8)}`,
      specRevision: 1,
      vcpus: 1,
      memoryMiB: 64,
      cpu: { shares: 1024, quotaUs: -1, periodUs: 100_000 },
      blkio: { weight: 500 },
      isolation: { svirt: 'preferred', mcs: { c1: 905, c2: 906 } },
      console: { vnc: 'none' },
      disks: [{ id: volumeId, volumeId, bootOrder: 1, iotune: {} }],
      nics: [
        {
          id: randomUUID(),
          mac: '52:54:00:4c:11:01',
          ip: '10.44.0.5',
          prefixLength: 24,
          segment,
          bandwidth: { averageKBps: 1000 },
        },
      ],
      boot: { kind: 'disk' },
      sshAuthorizedKeys: [],
    };
    const status = await agent.client.ensureRunning({
      operationId: op(),
      vm,
      keys: { [volumeId]: key },
    });
    expect(status.state).toBe('running');
    const reason = status.weakenings.find((w) => w.mechanism === 'bandwidth')?.reason;
    expect(reason).toMatch(/^bandwidth limit not enforced: kernel lacks \S/);
    if (!kernel.sfq.ok) expect(reason).toMatch(/lacks .*\bsfq\b/);
    expect((await agent.client.get(vmId))!.xml).not.toContain('<bandwidth');

    const report = await agent.client.isolation(vmId);
    expect(report.network[0]!.bandwidth).toMatchObject({ value: null });
    expect(report.weakenings).toContainEqual(
      expect.objectContaining({ mechanism: 'bandwidth', reason }),
    );
    // Everything else still holds: the tap on the segment's bridge, clean-traffic bound.
    expect(report.network[0]!.bridge.value).toBe(`pbr-x${segment.id}`);
    expect(report.network[0]!.binding.value).toBe('clean-traffic');
  });
});
