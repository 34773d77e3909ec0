// Functional test of tenant isolation on real libvirt, driven through the agent
// (docs/functional-test.md has the diagram).
//
// Two "hosts" are network namespaces of the testkit's lab, each with its own libvirtd, joined by
// an underlay veth. Each host has a REAL agent process (apps/agent, AGENT_HYPERVISOR=libvirt, its
// LIBVIRT_URI the host's libvirtd and AGENT_NETNS its namespace), called over HTTPS with mTLS
// with a control-plane client certificate, as the worker calls it. Every host action of the
// scenario is an agent call: images/ensure (kernel and initrd fetched from a loopback server and
// verified by checksum), volumes/ensure (LUKS), segments/ensure (VXLAN), vms/ensure-running,
// vms/:id/isolation, vms/:id/destroy, volumes/delete and segments/remove. The test itself only
// reads (live XML, cgroupfs, sysfs, `qemu-img info`) and, for the spoofing control, deletes the
// nwfilter binding on purpose.
//
// Three Palisade Tiny guests under TCG, each with a LUKS data volume: A (segment 1, h1), B
// (segment 1, h2) and C (segment 2, h1), all three in one IP subnet so only L2 separation keeps
// C apart. Asserted:
// - a VM that requires sVirt is refused on this SELinux-less host, and nothing is defined;
// - each guest boots and prints its marker with the seeded hostname and IP (boot time and the
//   agent's ensure-running latency printed);
// - A and B reach each other across VXLAN; C reaches neither;
// - a spoofed source IP from A is dropped by clean-traffic, and the real one still works; with
//   the binding removed, the same spoof gets through (control);
// - the agent's isolation report equals what the test reads itself from the live XML, cgroupfs,
//   sysfs, nwfilter and `qemu-img info`, and shows the flavor's CPU quota and LUKS disks;
// - removing a segment with a guest on it is refused; the VLAN uplink is checked as a plan and
//   skipped live (with the kernel's answer) where there is no 802.1Q;
// - the plaintext the guest wrote is in the decrypted image but not in the file; destroying the
//   VMs leaves no domain, secret, volume, seed, tap, bridge or vxlan device.
//
// Needs root, libvirt, qemu-system-x86, qemu-utils, busybox, iproute2 (the stack tool's packages).
// All guest traffic stays inside the lab's namespaces; the image server listens on 127.0.0.1.
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  ErrorCode,
  type AgentEnsureVmRunningInput,
  type AgentImage,
  type AgentVmStatus,
  type AgentVolume,
  type IsolationReport,
} from '@palisade/contracts';
import { buildGuestImage, parseMarkers, type GuestImage } from '@palisade/guest-image';
import {
  LinuxSegments,
  parseDomainXml,
  parseNwfilterBindingList,
  planSegment,
  probeVlanSupport,
  tenantPartition,
} from '@palisade/hypervisor';
import {
  controlPlaneIdentity,
  createNetnsLab,
  SerialConsole,
  startAgentProcess,
  stopAgentProcess,
  type AgentAnswer,
  type AgentProcess,
  type LabHost,
  type MtlsIdentity,
  type NetnsLab,
} from '@palisade/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const virsh = async (host: LabHost, ...args: string[]) =>
  (await exec('virsh', ['-c', host.libvirtUri!, ...args], { encoding: 'utf8', timeout: 120_000 }))
    .stdout;
const ipIn = async (host: LabHost, ...args: string[]) =>
  (await exec('ip', ['-n', host.netns, ...args], { encoding: 'utf8' })).stdout;

// Setup bounds, not assertions: three TCG guests on a shared 2-core machine can be slow.
const BOOT_BOUND_MS = 10 * 60_000;
const STEP_BOUND_MS = 5 * 60_000;

const FLAVOR = {
  cpu: { shares: 512, quotaUs: 50_000, periodUs: 100_000 },
  memoryMiB: 192,
  hardLimitMiB: 1024,
};
const SUBNET = '10.11.0';
const DATA_BYTES = 16 * 1024 * 1024;
const CGROUP_ROOT = '/sys/fs/cgroup';

interface Host {
  lab: LabHost;
  agent: AgentProcess;
}

interface Vm {
  label: 'A' | 'B' | 'C';
  host: Host;
  vmId: string;
  tenantId: string;
  name: string;
  vni: number;
  bridge: string;
  ip: string;
  mac: string;
  volumeId: string;
  /** The volume's LUKS key: base64 text, the passphrase as QEMU reads it. */
  key: string;
  plaintext: string;
  volume?: AgentVolume;
  status?: AgentVmStatus;
  console?: SerialConsole;
  tap?: string;
  ensureRunningMs?: number;
  bootMs?: number;
}

let lab: NetnsLab;
let image: GuestImage;
let tls: MtlsIdentity;
let imageServer: Server | undefined;
const hosts: Host[] = [];
const vms: Vm[] = [];
const tenants = [randomUUID(), randomUUID()] as const;
const images: {
  kernel?: { sha: string; answers: AgentImage[] };
  initrd?: { sha: string; answers: AgentImage[] };
} = {};

/** The body of a 200 answer; anything else fails with the status, the answer and the agent's log. */
async function ok<T>(host: Host, answer: Promise<AgentAnswer<T>>, what: string): Promise<T> {
  const r = await answer;
  if (r.status !== 200)
    throw new Error(
      `${what} on ${host.lab.name}: ${r.status} ${JSON.stringify(r.body)}\nagent log:\n${host.agent.log.slice(-4000)}`,
    );
  return r.body;
}

const op = () => ({ operationId: randomUUID() });

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Serves the guest kernel and initrd on 127.0.0.1 for images/ensure's `sourceUrl`. */
async function serveFiles(
  files: Record<string, string>,
): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    const file = files[(req.url ?? '').slice(1)];
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

function userData(vm: { plaintext: string; mac: string; peer?: string }): string {
  // The plaintext is assembled in the guest so the seed (raw, unencrypted) never holds it whole.
  const [head, tail] = [vm.plaintext.slice(0, 8), vm.plaintext.slice(8)];
  return `#!/bin/sh
printf '%s%s\\n' '${head}' '${tail}' | dd of="$PALISADE_DATA_DISK" bs=512 conv=sync,fsync 2>/dev/null
echo "FN-WROTE rc=$?"
dev=
for p in /sys/class/net/*; do [ "$(cat $p/address)" = "${vm.mac}" ] && dev=\${p##*/}; done
cat > /tmp/fn-probe.sh <<'EOF'
for ip in "$@"; do
  if ping -c 3 -W 1 "$ip" >/dev/null 2>&1; then echo "FN-PROBE $ip reachable"; else echo "FN-PROBE $ip unreachable"; fi
done
EOF
cat > /tmp/fn-spoof.sh <<EOF
# Swap the allocated address for one clean-traffic does not allow, ping the peer, swap back.
ip addr del \\$1/24 dev $dev; ip addr add \\$2/24 dev $dev
if ping -c 3 -W 1 \\$3 >/dev/null 2>&1; then echo "FN-SPOOF reachable"; else echo "FN-SPOOF dropped"; fi
ip addr del \\$2/24 dev $dev; ip addr add \\$1/24 dev $dev
if ping -c 3 -W 1 \\$3 >/dev/null 2>&1; then echo "FN-RESTORED reachable"; else echo "FN-RESTORED unreachable"; fi
EOF
${
  vm.peer === undefined
    ? ''
    : `( i=0; while [ $i -lt 900 ]; do i=$((i+1)); if ping -c 1 -W 1 ${vm.peer} >/dev/null 2>&1; then echo "FN-PING ${vm.peer} ok"; exit 0; fi; done; echo "FN-PING ${vm.peer} fail" ) &`
}
`;
}

function newVm(label: Vm['label'], host: Host, tenantId: string, vni: number, ipLast: number): Vm {
  return {
    label,
    host,
    vmId: randomUUID(),
    tenantId,
    name: `fn-${label.toLowerCase()}-${lab.prefix}`,
    vni,
    bridge: `pbr-x${vni}`,
    ip: `${SUBNET}.${ipLast}`,
    mac: `52:54:00:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`,
    volumeId: randomUUID(),
    // One random key per volume; a LUKS passphrase must be UTF-8, hence base64 text.
    key: randomBytes(32).toString('base64'),
    plaintext: `PALISADE-PLAINTEXT-${randomBytes(8).toString('hex')}`,
  };
}

/** What the worker would send: host-independent, images by checksum, segments by VNI. */
function definition(
  vm: Vm,
  o: { peer?: string; svirt?: 'required' | 'preferred'; mcs: { c1: number; c2: number } },
): AgentEnsureVmRunningInput {
  return {
    ...op(),
    vm: {
      vmId: vm.vmId,
      tenantId: vm.tenantId,
      name: vm.name,
      specRevision: 1,
      vcpus: 1,
      memoryMiB: FLAVOR.memoryMiB,
      cpu: FLAVOR.cpu,
      memtune: { hardLimitMiB: FLAVOR.hardLimitMiB },
      blkio: { weight: 500 },
      // No SELinux or AppArmor here (DESIGN.md): 'preferred' runs and is reported weakened.
      isolation: { svirt: o.svirt ?? 'preferred', mcs: o.mcs },
      console: { vnc: 'none' },
      disks: [{ id: randomUUID(), volumeId: vm.volumeId, iotune: { totalIops: 2000 } }],
      nics: [
        {
          id: randomUUID(),
          mac: vm.mac,
          ip: vm.ip,
          prefixLength: 24,
          segment: { type: 'vxlan', id: vm.vni },
          bandwidth: { averageKBps: 10_240 },
        },
      ],
      boot: {
        kind: 'kernel',
        kernel: images.kernel!.sha,
        initrd: images.initrd!.sha,
        cmdline: image.directBoot.cmdline,
      },
      userData: userData({
        plaintext: vm.plaintext,
        mac: vm.mac,
        ...(o.peer === undefined ? {} : { peer: o.peer }),
      }),
      sshAuthorizedKeys: [],
    },
    keys: { [vm.volumeId]: vm.key },
  };
}

const volumePath = (vm: Vm) => path.join(vm.host.agent.stateDir, 'volumes', `${vm.volumeId}.qcow2`);
const seedPath = (vm: Vm) => path.join(vm.host.agent.stateDir, 'seeds', `${vm.vmId}.img`);

/** volumes/ensure, then ensure-running (timed), then the serial console and READY (timed). */
async function launch(vm: Vm, o: Parameters<typeof definition>[1]): Promise<void> {
  const { agent } = vm.host;
  vm.volume = await ok(
    vm.host,
    agent.call<AgentVolume>('POST', '/v1/volumes/ensure', {
      ...op(),
      volumeId: vm.volumeId,
      sizeBytes: DATA_BYTES,
      key: vm.key,
    }),
    `volumes/ensure ${vm.label}`,
  );
  const t0 = Date.now();
  vm.status = await ok(
    vm.host,
    agent.call<AgentVmStatus>('POST', '/v1/vms/ensure-running', definition(vm, o)),
    `ensure-running ${vm.label}`,
  );
  vm.ensureRunningMs = Date.now() - t0;
  // Open the pty right away: QEMU drops what the guest prints while no one reads it.
  vm.console = new SerialConsole((await virsh(vm.host.lab, 'ttyconsole', vm.vmId)).trim());
  await vm.console.open();
  const live = parseDomainXml(await virsh(vm.host.lab, 'dumpxml', vm.vmId));
  vm.tap = live.devices.interfaces[0]?.targetDev;
}

async function awaitReady(vm: Vm, t0: number): Promise<void> {
  await vm.console!.waitFor(/PALISADE-TINY READY .*\n/, BOOT_BOUND_MS, `${vm.label} boot`);
  vm.bootMs = Date.now() - t0;
}

/** Set by the setup: the agents leave <bandwidth> out, and say so, on a kernel without sfq. */
let bandwidthDropped = false;

/** Whether the kernel has the sfq qdisc libvirt's <bandwidth> needs (tried on the lab's lo). */
async function probeSfq(host: LabHost): Promise<{ supported: boolean; reason?: string }> {
  try {
    await exec('tc', [
      '-n',
      host.netns,
      'qdisc',
      'add',
      'dev',
      'lo',
      'root',
      'sfq',
      'perturb',
      '10',
    ]);
    await exec('tc', ['-n', host.netns, 'qdisc', 'del', 'dev', 'lo', 'root']);
    return { supported: true };
  } catch (e) {
    return { supported: false, reason: (e as Error).message.trim() };
  }
}

beforeAll(async () => {
  lab = await createNetnsLab({ libvirt: true, log: (l) => console.log(`[lab] ${l}`) });
  image = await buildGuestImage();
  const [h1, h2] = lab.hosts as [LabHost, LabHost];

  const kernelSha = await sha256File(image.directBoot.kernel);
  const initrdSha = await sha256File(image.directBoot.initrd);
  const served = await serveFiles({
    [kernelSha]: image.directBoot.kernel,
    [initrdSha]: image.directBoot.initrd,
  });
  imageServer = served.server;

  // The agents' CA, the control plane's client identity and the agents' state: all in the lab's
  // directory (world-traversable, so QEMU reaches volumes and seeds), removed with the lab.
  const agentsDir = path.join(lab.dir, 'agents');
  // Made here, before the CA's 0700 pki/ below it: created along with that, it would be 0700 too.
  mkdirSync(agentsDir, { mode: 0o711 });
  tls = await controlPlaneIdentity(path.join(agentsDir, 'pki'));
  const sfq = await probeSfq(h1);
  bandwidthDropped = !sfq.supported;
  if (!sfq.supported)
    console.log(
      `[limit] interface <bandwidth> left out (AGENT_NO_BANDWIDTH): no sfq qdisc (${sfq.reason})`,
    );
  for (const [h, peer] of [
    [h1, h2],
    [h2, h1],
  ] as const) {
    const agent = await startAgentProcess({
      dir: agentsDir,
      name: `fn-${h.name}`,
      tls,
      env: {
        AGENT_HYPERVISOR: 'libvirt',
        LIBVIRT_URI: h.libvirtUri!,
        AGENT_NETNS: h.netns,
        AGENT_UNDERLAY_DEV: h.underlayDev,
        AGENT_UNDERLAY_IP: h.underlayIp,
        AGENT_VXLAN_REMOTES: peer.underlayIp,
        AGENT_TRUNK_DEV: h.underlayDev,
        AGENT_LUKS_ITER_MS: '100',
        AGENT_NO_BANDWIDTH: sfq.supported ? 'false' : 'true',
        ALLOW_WEAKER_ISOLATION: 'false',
      },
    });
    // Ended by PID in afterAll; tracked so that a killed run's agents go with the lab's sweep.
    lab.trackProcess(agent.proc.pid!);
    console.log(
      `[agent] ${agent.name}: pid ${agent.proc.pid}, ${agent.url}, libvirt ${h.libvirtUri}`,
    );
    hosts.push({ lab: h, agent });
  }
  const [host1, host2] = hosts as [Host, Host];

  // Images: fetched into each host's store from the loopback server, verified by checksum.
  images.kernel = { sha: kernelSha, answers: [] };
  images.initrd = { sha: initrdSha, answers: [] };
  for (const h of hosts)
    for (const img of [images.kernel, images.initrd])
      img.answers.push(
        await ok(
          h,
          h.agent.call<AgentImage>('POST', '/v1/images/ensure', {
            ...op(),
            checksum: img.sha,
            format: 'raw',
            sourceUrl: `${served.base}/${img.sha}`,
          }),
          'images/ensure',
        ),
      );

  // Segments only where a guest needs them: segment 1 on both hosts, segment 2 on h1.
  for (const [h, vni] of [
    [host1, 1001],
    [host2, 1001],
    [host1, 1002],
  ] as const)
    await ok(
      h,
      h.agent.call('POST', '/v1/segments/ensure', { ...op(), segment: { type: 'vxlan', id: vni } }),
      `segments/ensure ${vni}`,
    );

  // The host probe runs once per agent (it boots probe guests); done here so that it is not
  // counted in ensure-running below.
  for (const h of hosts) {
    const t = Date.now();
    await ok(h, h.agent.call('GET', '/v1/host/compliance'), 'host compliance');
    console.log(`[measure] ${h.agent.name}: first host probe (compliance) ${Date.now() - t} ms`);
  }

  vms.push(newVm('A', host1, tenants[0], 1001, 11));
  vms.push(newVm('B', host2, tenants[0], 1001, 12));
  vms.push(newVm('C', host1, tenants[1], 1002, 13));
  const peers: Record<Vm['label'], string | undefined> = {
    A: `${SUBNET}.12`,
    B: `${SUBNET}.11`,
    C: undefined,
  };
  const mcs = { A: { c1: 11, c2: 12 }, B: { c1: 13, c2: 14 }, C: { c1: 15, c2: 16 } };
  // One ensure-running at a time (each timed alone); the guests then boot in parallel.
  const started: Promise<void>[] = [];
  for (const vm of vms) {
    const t0 = Date.now();
    await launch(vm, { mcs: mcs[vm.label], ...(peers[vm.label] ? { peer: peers[vm.label] } : {}) });
    started.push(awaitReady(vm, t0));
  }
  await Promise.all(started);
  for (const vm of vms)
    console.log(
      `[measure] ${vm.label} (${vm.name} on ${vm.host.lab.name}, ${vm.bridge}): agent ensure-running ${vm.ensureRunningMs} ms; define->READY marker ${vm.bootMs} ms`,
    );
}, 20 * 60_000);

afterAll(async () => {
  for (const vm of vms) vm.console?.close();
  for (const h of hosts) await stopAgentProcess(h.agent);
  await new Promise((r) => (imageServer ? imageServer.close(r) : r(undefined)));
  // The agents made the tenants' cgroup partitions; registering them lets the lab remove them.
  for (const t of tenants) if (lab) lab.ensurePartition(tenantPartition(t));
  // Guests, daemons, namespaces, partitions and every file (agents' state included), by PID.
  await lab?.dispose();
}, 5 * 60_000);

const vm = (label: Vm['label']) => vms.find((v) => v.label === label)!;
/** A swaps its allocated .11 for .99, pings B, and swaps back (see fn-spoof.sh in userData). */
const SPOOF = `sh /tmp/fn-spoof.sh ${SUBNET}.11 ${SUBNET}.99 ${SUBNET}.12`;

/** The domain's cgroup below `controller`, found by the test itself: libvirt names it
 *  `qemu-<id>-<domain name>.libvirt-qemu` under the tenant's partition. */
function domainCgroup(v: Vm, domainName: string, controller: string): string {
  const rel = tenantPartition(v.tenantId)
    .replace(/^\//, '')
    .split('/')
    .map((p, i) => (i === 0 ? p : `${p}.partition`));
  const dir = path.join(CGROUP_ROOT, controller, ...rel);
  const hits = readdirSync(dir).filter((e) => e.endsWith(`-${domainName}.libvirt-qemu`));
  expect(hits, `${v.label}'s cgroup under ${dir}`).toHaveLength(1);
  return path.join(dir, hits[0]!);
}

const readInt = (file: string) => Number(readFileSync(file, 'utf8').trim());

describe('tenant isolation on two namespaced hosts, through the agent (VXLAN, TCG guests)', () => {
  it('the agents fetched the kernel and initrd into their stores and verified them by checksum', async () => {
    for (const img of [images.kernel!, images.initrd!]) {
      expect(img.answers).toHaveLength(2);
      for (const [i, h] of hosts.entries()) {
        const file = path.join(h.agent.stateDir, 'images', `${img.sha}.raw`);
        expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(img.sha);
        // The size as qemu-img reads it (raw rounds up to whole 512-byte sectors), no backing file.
        const info = JSON.parse(
          (await exec('qemu-img', ['info', '-f', 'raw', '--output=json', file])).stdout,
        ) as { 'virtual-size': number; 'backing-filename'?: string };
        expect(info['backing-filename']).toBeUndefined();
        expect(img.answers[i]).toEqual({
          checksum: img.sha,
          format: 'raw',
          virtualSizeBytes: info['virtual-size'],
        });
      }
    }
  });

  it('refuses a VM that requires sVirt on this SELinux-less host, and defines nothing for it', async () => {
    const h = hosts[0]!;
    const refused = { ...newVm('A', h, tenants[0], 1001, 21), name: `fn-svirt-${lab.prefix}` };
    const before = await virsh(h.lab, 'list', '--all', '--uuid');
    const r = await h.agent.call<{
      code: string;
      message: string;
      details: Record<string, unknown>;
    }>(
      'POST',
      '/v1/vms/ensure-running',
      definition(refused, { svirt: 'required', mcs: { c1: 31, c2: 32 } }),
    );
    console.log(`[refused] ${r.status} ${JSON.stringify(r.body)}`);
    expect(r.status).toBe(409);
    expect(r.body.code).toBe(ErrorCode.AGENT_ISOLATION_UNENFORCEABLE);
    expect(r.body.message).toMatch(/requires sVirt.*neither SELinux nor AppArmor/);
    expect(r.body.details).toMatchObject({
      mechanism: 'svirt',
      requirement: 'required',
      hostDriver: 'none',
    });
    // Nothing of it on the host: no domain, no secret for its disk, no seed; the rest unchanged.
    expect(await virsh(h.lab, 'list', '--all', '--uuid')).toBe(before);
    expect(await virsh(h.lab, 'secret-list')).not.toContain(refused.volumeId);
    expect(existsSync(seedPath(refused))).toBe(false);
    expect((await h.agent.call('GET', `/v1/vms/${refused.vmId}`)).status).toBe(404);
  });

  it('boots every guest with its seeded hostname and IP', () => {
    for (const v of vms) {
      const ready = parseMarkers(v.console!.text).ready;
      expect(ready, `${v.label} READY`).toMatchObject({
        hostname: v.name,
        ip: `${v.ip}/24`,
        mac: v.mac,
        instance: v.vmId,
      });
      // The data disk is the encrypted volume, the seed the read-only cidata disk.
      expect(parseMarkers(v.console!.text).disks, `${v.label} disks`).toEqual({
        seed: '/dev/vdb',
        data: '/dev/vda',
      });
      expect(v.status).toMatchObject({ vmId: v.vmId, state: 'running' });
      // Running without an sVirt label (and, without sfq, unshaped) is said out loud, not silent.
      expect(v.status!.weakenings.map((w) => w.mechanism)).toEqual(
        bandwidthDropped ? ['svirt', 'bandwidth'] : ['svirt'],
      );
    }
  });

  it('segment 1 guests reach each other across hosts over VXLAN', async () => {
    await vm('A').console!.waitFor(
      new RegExp(`FN-PING ${SUBNET}\\.12 (ok|fail)`),
      STEP_BOUND_MS,
      'A->B',
    );
    await vm('B').console!.waitFor(
      new RegExp(`FN-PING ${SUBNET}\\.11 (ok|fail)`),
      STEP_BOUND_MS,
      'B->A',
    );
    expect(vm('A').console!.text).toContain(`FN-PING ${SUBNET}.12 ok`);
    expect(vm('B').console!.text).toContain(`FN-PING ${SUBNET}.11 ok`);
  });

  it('the segment 2 guest in the same subnet reaches neither', async () => {
    const out = await vm('C').console!.run(
      `sh /tmp/fn-probe.sh ${SUBNET}.11 ${SUBNET}.12`,
      new RegExp(`FN-PROBE ${SUBNET}\\.12 \\w+`),
      STEP_BOUND_MS,
      'C probe',
    );
    expect(out).toContain(`FN-PROBE ${SUBNET}.11 unreachable`);
    expect(out).toContain(`FN-PROBE ${SUBNET}.12 unreachable`);
  });

  it('clean-traffic drops a spoofed source IP; the allocated one still works', async () => {
    const out = await vm('A').console!.run(SPOOF, /FN-RESTORED \w+/, STEP_BOUND_MS, 'A spoof');
    expect(out).toContain('FN-SPOOF dropped');
    expect(out).toContain('FN-RESTORED reachable');
  });

  it('control: with the nwfilter binding removed from the tap, the same spoof gets through', async () => {
    const a = vm('A');
    const bindingXml = await virsh(a.host.lab, 'nwfilter-binding-dumpxml', a.tap!);
    const bindingFile = path.join(lab.dir, `${a.tap}-binding.xml`);
    writeFileSync(bindingFile, bindingXml);
    await virsh(a.host.lab, 'nwfilter-binding-delete', a.tap!);
    let out: string;
    try {
      out = await a.console!.run(SPOOF, /FN-RESTORED \w+/, STEP_BOUND_MS, 'A spoof without filter');
    } finally {
      // Put the filter back exactly as libvirt had bound it; the report below reads it again.
      await virsh(a.host.lab, 'nwfilter-binding-create', bindingFile);
    }
    expect(out).toContain('FN-SPOOF reachable');
    expect(out).toContain('FN-RESTORED reachable');
  });

  it("the agent's isolation report is what the test reads from live XML, cgroupfs, sysfs and qemu-img", async () => {
    for (const v of vms) {
      const r = await ok(
        v.host,
        v.host.agent.call<IsolationReport>('GET', `/v1/vms/${v.vmId}/isolation`),
        `isolation ${v.label}`,
      );
      console.log(`[report] ${v.label}: ${JSON.stringify(r)}`);
      expect(r.vmId).toBe(v.vmId);

      // Live XML, read by the test: labels, interfaces and disks.
      const live = parseDomainXml(await virsh(v.host.lab, 'dumpxml', v.vmId));
      expect(r.domainName).toBe(live.name);
      expect(
        r.seclabels.map(({ model, type, label, imageLabel }) => ({
          model,
          type,
          label,
          imageLabel,
        })),
      ).toEqual(
        live.seclabels.map((s) => ({
          model: s.model ?? null,
          type: s.type,
          label: s.label ?? null,
          imageLabel: s.imagelabel ?? null,
        })),
      );
      // No SELinux here: whatever label is in effect, it is not an sVirt one.
      expect(r.seclabels.map((s) => s.model)).not.toContain('selinux');

      // cgroupfs, read by the test: the flavor's CPU quota per vCPU, shares, the memory limit.
      const cpu = domainCgroup(v, live.name, 'cpu');
      const mem = domainCgroup(v, live.name, 'memory');
      expect(r.cgroups.path).toBe(path.relative(path.join(CGROUP_ROOT, 'cpu'), cpu));
      expect(r.cgroups.path).toContain(tenantPartition(v.tenantId).split('/').at(-1)!);
      const ownVcpu0 = {
        quotaUs: readInt(path.join(cpu, 'vcpu0', 'cpu.cfs_quota_us')),
        periodUs: readInt(path.join(cpu, 'vcpu0', 'cpu.cfs_period_us')),
      };
      expect(ownVcpu0).toEqual({ quotaUs: FLAVOR.cpu.quotaUs, periodUs: FLAVOR.cpu.periodUs });
      expect(r.cgroups.vcpus).toEqual([expect.objectContaining({ vcpu: 0, ...ownVcpu0 })]);
      expect(r.cgroups.cpuShares.value).toBe(readInt(path.join(cpu, 'cpu.shares')));
      expect(r.cgroups.cpuShares.value).toBe(FLAVOR.cpu.shares);
      expect(r.cgroups.memoryHardLimitBytes.value).toBe(
        readInt(path.join(mem, 'memory.limit_in_bytes')),
      );
      expect(r.cgroups.memoryHardLimitBytes.value).toBe(FLAVOR.hardLimitMiB * 1024 * 1024);

      // The tap: its bridge from the namespace's links, its filter from the live XML and from
      // libvirt's bindings.
      const nic = live.devices.interfaces[0]!;
      const [link] = JSON.parse(
        await ipIn(v.host.lab, '-j', 'link', 'show', 'dev', nic.targetDev!),
      ) as {
        master?: string;
      }[];
      const bound = parseNwfilterBindingList(await virsh(v.host.lab, 'nwfilter-binding-list')).find(
        (b) => b.port === nic.targetDev,
      );
      expect(r.network).toEqual([
        expect.objectContaining({
          mac: v.mac,
          tap: nic.targetDev,
          bridge: expect.objectContaining({ value: link!.master }),
          filter: expect.objectContaining({ value: nic.filterref?.filter }),
          filterParameters: Object.fromEntries(
            (nic.filterref?.parameters ?? []).map((p) => [p.name, p.value]),
          ),
          binding: expect.objectContaining({ value: bound?.filter }),
        }),
      ]);
      expect(link!.master).toBe(v.bridge);
      expect(bound?.filter).toBe('clean-traffic');
      expect(r.network[0]!.filterParameters).toEqual({ IP: v.ip });

      // Every disk's encryption, from the test's own `qemu-img info`.
      expect(r.storage.map((s) => s.path).sort()).toEqual(
        live.devices.disks.map((d) => d.sourceFile).sort(),
      );
      for (const disk of live.devices.disks) {
        const info = JSON.parse(
          (await exec('qemu-img', ['info', '-U', '--output=json', disk.sourceFile])).stdout,
        ) as { format: string; 'format-specific'?: { data?: { encrypt?: { format?: string } } } };
        const encryption = info['format-specific']?.data?.encrypt?.format ?? 'none';
        expect(r.storage.find((s) => s.path === disk.sourceFile)).toMatchObject({
          format: info.format,
          encryption: expect.objectContaining({ value: encryption }),
        });
      }
      expect(r.storage.find((s) => s.path === volumePath(v))?.encryption.value).toBe('luks');
      expect(r.storage.find((s) => s.path === seedPath(v))).toMatchObject({
        readonly: true,
        format: 'raw',
      });
    }
  });

  it('refuses to remove a segment while a guest is attached', async () => {
    const a = vm('A');
    const r = await a.host.agent.call<{ code: string }>('POST', '/v1/segments/remove', {
      ...op(),
      segment: { type: 'vxlan', id: a.vni },
    });
    expect(r.status).toBe(409);
    expect(r.body.code).toBe(ErrorCode.CONFLICT);
    expect(await ipIn(a.host.lab, 'link', 'show', a.bridge)).toContain(a.bridge);
  });

  it('plans a VLAN segment as <trunk>.<vid> on the bridge; live only where the kernel has 802.1Q', async (ctx) => {
    const h = hosts[0]!;
    const plan = planSegment(
      {
        bridge: 'pbr-v300',
        uplink: { kind: 'vlan', vid: 300, trunkDev: h.lab.underlayDev },
        mtu: 1500,
      },
      await new LinuxSegments({ netns: h.lab.netns }).observe(),
    );
    console.log(
      `[plan] VLAN 300 on ${h.lab.name}: ${plan.map((s) => s.argv.join(' ')).join('; ')}`,
    );
    expect(plan.map((s) => s.argv)).toEqual(
      expect.arrayContaining([
        ['ip', 'link', 'add', 'link', 'ul0', 'name', 'ul0.300', 'type', 'vlan', 'id', '300'],
        ['ip', 'link', 'set', 'ul0.300', 'master', 'pbr-v300'],
      ]),
    );
    const probe = await probeVlanSupport(h.lab.netns);
    if (!probe.supported) {
      console.log(
        `[skip] live VLAN segment through the agent: no 802.1Q in this kernel (${probe.reason})`,
      );
      ctx.skip();
      return;
    }
    const segment = { type: 'vlan', id: 300 };
    await ok(h, h.agent.call('POST', '/v1/segments/ensure', { ...op(), segment }), 'vlan ensure');
    expect(await ipIn(h.lab, 'link', 'show', 'ul0.300')).toContain('master pbr-v300');
    await ok(h, h.agent.call('POST', '/v1/segments/remove', { ...op(), segment }), 'vlan remove');
    expect(await ipIn(h.lab, '-o', 'link')).not.toMatch(/pbr-v300|ul0\.300/);
  });

  it('keeps the guest-written plaintext out of the LUKS file, and destroying leaves nothing behind', async () => {
    for (const v of vms)
      await v.console!.waitFor(/FN-WROTE rc=\d+/, STEP_BOUND_MS, `${v.label} wrote`);
    for (const v of vms) {
      expect(v.console!.text).toContain('FN-WROTE rc=0');
      const call = (route: string, body: object, what: string) =>
        ok(v.host, v.host.agent.call('POST', route, { ...op(), ...body }), `${what} ${v.label}`);
      // Destroyed first, so QEMU has closed (and flushed) the image before it is read.
      expect(await call(`/v1/vms/${v.vmId}/destroy`, {}, 'destroy')).toEqual({ destroyed: true });
      const needle = Buffer.from(v.plaintext);
      const keyFile = path.join(lab.dir, `${v.volumeId}.key`);
      writeFileSync(keyFile, v.key, { mode: 0o600 });
      const decrypted = `${volumePath(v)}.raw`;
      try {
        await exec('qemu-img', [
          'convert',
          '--object',
          `secret,id=s0,file=${keyFile}`,
          '--image-opts',
          `driver=qcow2,file.filename=${volumePath(v)},encrypt.key-secret=s0`,
          '-O',
          'raw',
          decrypted,
        ]);
        // Positive control: with the key, the guest's write is there...
        expect(
          readFileSync(decrypted).includes(needle),
          `${v.label} plaintext in decrypted image`,
        ).toBe(true);
      } finally {
        rmSync(decrypted, { force: true });
        rmSync(keyFile, { force: true });
      }
      // ...and in the file on the host's disk it is not.
      expect(
        readFileSync(volumePath(v)).includes(needle),
        `${v.label} plaintext in the qcow2 file`,
      ).toBe(false);
      expect(await call('/v1/volumes/delete', { volumeId: v.volumeId }, 'volumes/delete')).toEqual({
        deleted: true,
      });
    }
    // Each segment goes once its last guest on that host is gone.
    for (const [h, vni] of [
      [hosts[0]!, 1001],
      [hosts[1]!, 1001],
      [hosts[0]!, 1002],
    ] as const)
      expect(
        await ok(
          h,
          h.agent.call('POST', '/v1/segments/remove', {
            ...op(),
            segment: { type: 'vxlan', id: vni },
          }),
          `segments/remove ${vni}`,
        ),
      ).toEqual({ bridge: `pbr-x${vni}`, removed: true });

    for (const v of vms) {
      await expect(virsh(v.host.lab, 'dominfo', v.vmId)).rejects.toThrow(/failed to get domain/);
      expect((await v.host.agent.call('GET', `/v1/vms/${v.vmId}`)).status).toBe(404);
      expect(await virsh(v.host.lab, 'secret-list')).not.toContain(v.volumeId);
      expect(existsSync(volumePath(v))).toBe(false);
      expect(existsSync(seedPath(v))).toBe(false);
      const links = (
        JSON.parse(await ipIn(v.host.lab, '-j', 'link', 'show')) as { ifname: string }[]
      ).map((l) => l.ifname);
      expect(links).not.toContain(v.tap);
      expect(links).not.toContain(v.bridge);
      expect(links).not.toContain(`vx${v.vni}`);
    }
    for (const h of hosts)
      expect(
        (await ok(h, h.agent.call<{ items: unknown[] }>('GET', '/v1/vms'), 'list')).items,
      ).toEqual([]);
  });
});
