// Functional test of tenant isolation on real libvirt (docs/functional-test.md has the diagram).
//
// Two "hosts" are network namespaces of the testkit's lab, each with its own libvirtd, joined by
// an underlay veth. Two tenant segments are VXLAN VNIs (LinuxSegments on both hosts). Three
// Palisade Tiny guests under TCG, defined from `designDomain` with LUKS qcow2 data disks and a
// NoCloud seed: A (segment 1, h1), B (segment 1, h2) and C (segment 2, h1), all three in the same
// IP subnet so only L2 separation keeps C apart. Asserted:
// - each boots and prints its marker with the seeded hostname and IP (boot time printed);
// - A and B reach each other across VXLAN; C reaches neither;
// - a spoofed source IP from A is dropped by clean-traffic, and the real one still works;
// - every disk is LUKS in `qemu-img info`; the plaintext the guest wrote to its disk is in the
//   decrypted image but not in the file;
// - the flavor's CPU quota and the post-start memory limit are in cgroupfs (isolation report);
// - removing a segment with a guest on it is refused; destroying the VMs leaves no domain,
//   secret, volume, tap or empty bridge.
//
// libvirt is driven with `virsh -c <uri>` until LibvirtHypervisor (branch h-libvirt) lands.
// Needs root, libvirt, qemu-system-x86, qemu-utils, busybox, iproute2 (the stack tool's packages).
// All guest traffic stays inside the lab's namespaces.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { vmSpecSchema, type IsolationReport, type VmSpec } from '@palisade/contracts';
import { buildGuestImage, makeSeed, parseMarkers, type GuestImage } from '@palisade/guest-image';
import {
  collectIsolationReport,
  designDomain,
  domainToXml,
  hypervisorErrorKind,
  LinuxSegments,
  parseDomainXml,
  parseNwfilterBindingList,
  tenantPartition,
  type SegmentSpec,
} from '@palisade/hypervisor';
import { createNetnsLab, type LabHost, type NetnsLab } from '@palisade/testkit';
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
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A guest's serial line: the pty libvirt allocated, put in raw mode (no echo back into the
 *  guest) and read by `cat`; commands are written to the same pty. */
class SerialConsole {
  text = '';
  private reader: ChildProcess | undefined;

  constructor(readonly pty: string) {}

  async open(): Promise<void> {
    await exec('stty', ['-F', this.pty, 'raw', '-echo']);
    this.reader = spawn('cat', [this.pty], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.reader.stdout!.on(
      'data',
      (b: Buffer) => (this.text += b.toString('latin1').replace(/\r/g, '')),
    );
  }

  type(line: string): void {
    const fd = openSync(this.pty, 'w');
    try {
      writeSync(fd, `${line}\n`);
    } finally {
      closeSync(fd);
    }
  }

  /** Waits for `re` in the output from offset `from` on. */
  async waitFor(re: RegExp, boundMs: number, what: string, from = 0): Promise<RegExpMatchArray> {
    for (const end = Date.now() + boundMs; Date.now() < end; await sleep(250)) {
      const m = this.text.slice(from).match(re);
      if (m) return m;
    }
    throw new Error(
      `${what}: ${re} not seen on ${this.pty} within ${boundMs} ms; console so far:\n${this.text}`,
    );
  }

  /** Types `command` once the shell answers (input typed before busybox init opened ttyS0 is
   *  lost, so the probe is retyped until it echoes; `$((…))` keeps the typed text from matching). */
  async run(command: string, result: RegExp, what: string): Promise<string> {
    const n = Math.floor(Math.random() * 1e6);
    for (const end = Date.now() + STEP_BOUND_MS; ;) {
      this.type(`echo FN-SHELL-$((${n}+1))`);
      try {
        await this.waitFor(new RegExp(`FN-SHELL-${n + 1}`), 5_000, 'shell');
        break;
      } catch (e) {
        if (Date.now() > end) throw e;
      }
    }
    const from = this.text.length;
    this.type(command);
    await this.waitFor(result, STEP_BOUND_MS, what, from);
    // The command's own output only, not an earlier run's.
    return this.text.slice(from);
  }

  close(): void {
    if (this.reader?.pid !== undefined && this.reader.exitCode === null)
      this.reader.kill('SIGTERM');
  }
}

interface Vm {
  label: 'A' | 'B' | 'C';
  host: LabHost;
  segments: LinuxSegments;
  spec: VmSpec;
  bridge: string;
  ip: string;
  secretUuid: string;
  keyFile: string;
  dataPath: string;
  plaintext: string;
  console?: SerialConsole;
  tap?: string;
}

const FLAVOR = {
  cpu: { shares: 512, quotaUs: 50_000, periodUs: 100_000 },
  memoryMiB: 192,
  hardLimitMiB: 1024,
};
const SUBNET = '10.11.0';

let lab: NetnsLab;
let image: GuestImage;
let kernel: string;
let initrd: string;
const vms: Vm[] = [];
const segmentsOf = new Map<LabHost, LinuxSegments>();

function segment(host: LabHost, peer: LabHost, vni: number): SegmentSpec {
  return {
    bridge: `br${vni}`,
    uplink: {
      kind: 'vxlan',
      vni,
      device: `vx${vni}`,
      localIp: host.underlayIp,
      underlayDev: host.underlayDev,
      remotes: [peer.underlayIp],
      dstPort: 4789,
    },
    mtu: 1450,
  };
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

async function prepareVm(
  label: Vm['label'],
  host: LabHost,
  tenantId: string,
  vni: number,
  ipLast: number,
  peerIp: string | undefined,
  mcs: { c1: number; c2: number },
): Promise<Vm> {
  const vmId = randomUUID();
  const volumeId = randomUUID();
  const secretUuid = randomUUID();
  const mac = `52:54:00:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`;
  const ip = `${SUBNET}.${ipLast}`;
  const name = `fn-${label.toLowerCase()}-${lab.prefix}`;
  const dataPath = path.join(lab.imageDir, `${name}-data.qcow2`);
  const seedPath = path.join(lab.imageDir, `${name}-seed.img`);
  const plaintext = `PALISADE-PLAINTEXT-${randomBytes(8).toString('hex')}`;

  // The LUKS key: one random key per volume (a LUKS passphrase must be UTF-8, hence base64 text),
  // given to qemu-img through a 0600 file and to libvirt as an ephemeral private secret, never on
  // argv where `ps` would show it.
  const keyFile = path.join(lab.dir, `${name}.key`);
  writeFileSync(keyFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  await exec('qemu-img', [
    'create',
    '-q',
    '-f',
    'qcow2',
    '--object',
    `secret,id=s0,file=${keyFile}`,
    '-o',
    'encrypt.format=luks,encrypt.key-secret=s0',
    dataPath,
    '16M',
  ]);
  const secretXml = path.join(lab.dir, `${name}-secret.xml`);
  writeFileSync(
    secretXml,
    `<secret ephemeral='yes' private='yes'><uuid>${secretUuid}</uuid><usage type='volume'><volume>${dataPath}</volume></usage></secret>`,
  );
  await virsh(host, 'secret-define', secretXml);
  await virsh(host, 'secret-set-value', secretUuid, '--file', keyFile, '--plain');

  await makeSeed(
    {
      hostname: name,
      instanceId: vmId,
      network: { mac, address: `${ip}/24` },
      userData: userData({ plaintext, mac, ...(peerIp === undefined ? {} : { peer: peerIp }) }),
    },
    seedPath,
  );

  const spec = vmSpecSchema.parse({
    vmId,
    tenantId,
    name,
    specRevision: 1,
    vcpus: 1,
    memoryMiB: FLAVOR.memoryMiB,
    cpu: FLAVOR.cpu,
    memtune: { hardLimitMiB: FLAVOR.hardLimitMiB },
    blkio: { weight: 500 },
    disks: [
      {
        id: randomUUID(),
        volumeId,
        path: dataPath,
        format: 'qcow2',
        bus: 'virtio',
        encrypted: { secretUuid },
        iotune: { totalIops: 2000 },
      },
    ],
    seed: { path: seedPath },
    nics: [{ id: randomUUID(), mac, bridge: `br${vni}`, ip, bandwidth: { averageKBps: 10_240 } }],
    isolation: { svirt: 'preferred', mcs },
    console: { vnc: 'none' },
    boot: { kind: 'kernel', kernel, initrd, cmdline: image.directBoot.cmdline },
  });
  lab.ensurePartition(tenantPartition(tenantId));
  return {
    label,
    host,
    segments: segmentsOf.get(host)!,
    spec,
    bridge: `br${vni}`,
    ip,
    secretUuid,
    keyFile,
    dataPath,
    plaintext,
  };
}

/** define -> start paused -> attach to the serial pty -> resume -> READY; prints the boot time. */
async function boot(vm: Vm): Promise<number> {
  // This host has no SELinux/AppArmor (DESIGN.md), so svirt is 'preferred' and reported weakened.
  const design = designDomain(vm.spec, {
    securityDriver: 'none',
    allowWeakerIsolation: false,
    acceleration: 'tcg',
  });
  if (!design.ok) throw new Error(design.reason);
  let xml = design.xml;
  if (!sfq.supported) {
    // libvirt shapes <bandwidth> with htb + sfq; without sfq the start fails ("Specified qdisc
    // kind is unknown"), so on such a kernel the guests run unshaped (measured here).
    for (const nic of design.domain.devices.interfaces) delete nic.bandwidth;
    xml = domainToXml(design.domain);
  }
  const xmlFile = path.join(lab.dir, `${vm.spec.name}.xml`);
  writeFileSync(xmlFile, xml);
  const definedAt = Date.now();
  await virsh(vm.host, 'define', xmlFile);
  await virsh(vm.host, 'start', '--paused', vm.spec.vmId);
  const live = parseDomainXml(await virsh(vm.host, 'dumpxml', vm.spec.vmId));
  vm.tap = live.devices.interfaces[0]?.targetDev;
  vm.console = new SerialConsole(live.devices.serials[0]!.sourcePath!);
  await vm.console.open();
  await virsh(vm.host, 'resume', vm.spec.vmId);
  for (const step of design.postStart)
    await virsh(
      vm.host,
      'memtune',
      vm.spec.vmId,
      '--hard-limit',
      String(step.hardLimitKiB),
      '--live',
    );
  await vm.console.waitFor(/PALISADE-TINY READY .*\n/, BOOT_BOUND_MS, `${vm.label} boot`);
  const ms = Date.now() - definedAt;
  console.log(
    `[boot] ${vm.label} (${vm.spec.name} on ${vm.host.name}, ${vm.bridge}): define->READY ${ms} ms`,
  );
  return ms;
}

async function report(vm: Vm): Promise<IsolationReport> {
  return collectIsolationReport({
    liveXml: await virsh(vm.host, 'dumpxml', vm.spec.vmId),
    netns: vm.host.netns,
    nwfilterBindings: async () =>
      parseNwfilterBindingList(await virsh(vm.host, 'nwfilter-binding-list')),
  });
}

/** What the agent's VM deletion does (until LibvirtHypervisor): domain, secret, volume, and the
 *  segment once its last tap is gone. */
async function destroyVm(vm: Vm): Promise<void> {
  await virsh(vm.host, 'destroy', vm.spec.vmId).catch((e: Error) => {
    if (!/domain is not running/.test(e.message)) throw e;
  });
  await virsh(vm.host, 'undefine', vm.spec.vmId);
  await virsh(vm.host, 'secret-undefine', vm.secretUuid);
  rmSync(vm.dataPath);
  rmSync(vm.spec.seed.path);
  const ports = JSON.parse(
    await ipIn(vm.host, '-d', '-j', 'link', 'show', 'master', vm.bridge),
  ) as {
    linkinfo?: { info_kind?: string };
  }[];
  if (ports.every((p) => p.linkinfo?.info_kind === 'vxlan' || p.linkinfo?.info_kind === 'vlan'))
    await vm.segments.removeSegment(vm.bridge);
}

let sfq: { supported: boolean; reason?: string } = { supported: true };

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
  // libvirt-qemu cannot read the cache under /root: the lab's image dir is world-traversable.
  kernel = path.join(lab.imageDir, 'vmlinux');
  initrd = path.join(lab.imageDir, 'initrd.img');
  copyFileSync(image.directBoot.kernel, kernel);
  copyFileSync(image.directBoot.initrd, initrd);
  const [h1, h2] = lab.hosts as [LabHost, LabHost];
  for (const h of lab.hosts) segmentsOf.set(h, new LinuxSegments({ netns: h.netns }));
  sfq = await probeSfq(h1);
  if (!sfq.supported)
    console.log(
      `[limit] interface <bandwidth> left out: this kernel has no sfq qdisc (${sfq.reason})`,
    );
  // Segments only where a guest needs them: segment 1 on both hosts, segment 2 on h1.
  for (const [h, peer, vni] of [
    [h1, h2, 1001],
    [h2, h1, 1001],
    [h1, h2, 1002],
  ] as const)
    await segmentsOf.get(h)!.ensureSegment(segment(h, peer, vni));

  const tenant1 = randomUUID();
  const tenant2 = randomUUID();
  vms.push(await prepareVm('A', h1, tenant1, 1001, 11, `${SUBNET}.12`, { c1: 11, c2: 12 }));
  vms.push(await prepareVm('B', h2, tenant1, 1001, 12, `${SUBNET}.11`, { c1: 13, c2: 14 }));
  vms.push(await prepareVm('C', h1, tenant2, 1002, 13, undefined, { c1: 15, c2: 16 }));
  // In parallel: each prints its own define->READY time.
  await Promise.all(vms.map(boot));
}, 20 * 60_000);

afterAll(async () => {
  for (const vm of vms) vm.console?.close();
  await lab?.dispose();
}, 5 * 60_000);

const vm = (label: Vm['label']) => vms.find((v) => v.label === label)!;
/** A swaps its allocated .11 for .99, pings B, and swaps back (see fn-spoof.sh in userData). */
const SPOOF = `sh /tmp/fn-spoof.sh ${SUBNET}.11 ${SUBNET}.99 ${SUBNET}.12`;

describe('tenant isolation on two namespaced hosts (VXLAN, TCG guests)', () => {
  it('boots every guest with its seeded hostname and IP', () => {
    for (const v of vms) {
      const ready = parseMarkers(v.console!.text).ready;
      expect(ready, `${v.label} READY`).toMatchObject({
        hostname: v.spec.name,
        ip: `${v.ip}/24`,
        mac: v.spec.nics[0]!.mac,
        instance: v.spec.vmId,
      });
      // The data disk is the encrypted volume, the seed the read-only cidata disk.
      expect(parseMarkers(v.console!.text).disks, `${v.label} disks`).toEqual({
        seed: '/dev/vdb',
        data: '/dev/vda',
      });
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
      'C probe',
    );
    expect(out).toContain(`FN-PROBE ${SUBNET}.11 unreachable`);
    expect(out).toContain(`FN-PROBE ${SUBNET}.12 unreachable`);
  });

  it('clean-traffic drops a spoofed source IP; the allocated one still works', async () => {
    const out = await vm('A').console!.run(SPOOF, /FN-RESTORED \w+/, 'A spoof');
    expect(out).toContain('FN-SPOOF dropped');
    expect(out).toContain('FN-RESTORED reachable');
  });

  it('control: with the nwfilter binding removed from the tap, the same spoof gets through', async () => {
    const a = vm('A');
    const bindingXml = await virsh(a.host, 'nwfilter-binding-dumpxml', a.tap!);
    const bindingFile = path.join(lab.dir, `${a.tap}-binding.xml`);
    writeFileSync(bindingFile, bindingXml);
    await virsh(a.host, 'nwfilter-binding-delete', a.tap!);
    let out: string;
    try {
      out = await a.console!.run(SPOOF, /FN-RESTORED \w+/, 'A spoof without filter');
    } finally {
      // Put the filter back exactly as libvirt had bound it; the report below reads it again.
      await virsh(a.host, 'nwfilter-binding-create', bindingFile);
    }
    expect(out).toContain('FN-SPOOF reachable');
    expect(out).toContain('FN-RESTORED reachable');
  });

  it('reports, from cgroupfs, sysfs, nwfilter and qemu-img, what isolates each guest', async () => {
    for (const v of vms) {
      const r = await report(v);
      console.log(`[report] ${v.label}: ${JSON.stringify(r)}`);
      expect(r.cgroups.path).toContain(tenantPartition(v.spec.tenantId).split('/').at(-1)!);
      expect(r.cgroups.vcpus).toEqual([
        expect.objectContaining({
          vcpu: 0,
          quotaUs: FLAVOR.cpu.quotaUs,
          periodUs: FLAVOR.cpu.periodUs,
        }),
      ]);
      expect(r.cgroups.cpuShares.value).toBe(FLAVOR.cpu.shares);
      expect(r.cgroups.memoryHardLimitBytes.value).toBe(FLAVOR.hardLimitMiB * 1024 * 1024);
      expect(r.network).toEqual([
        expect.objectContaining({
          tap: v.tap,
          bridge: expect.objectContaining({ value: v.bridge }),
          filter: expect.objectContaining({ value: 'clean-traffic' }),
          filterParameters: { IP: v.ip },
          binding: expect.objectContaining({ value: 'clean-traffic' }),
        }),
      ]);
      const data = r.storage.find((s) => s.path === v.dataPath);
      expect(data?.encryption.value).toBe('luks');
      expect(r.storage.find((s) => s.path === v.spec.seed.path)).toMatchObject({
        readonly: true,
        format: 'raw',
      });
    }
  });

  it('refuses to remove a segment while a guest is attached', async () => {
    const a = vm('A');
    const e = await a.segments.removeSegment(a.bridge).catch((x: unknown) => x);
    expect(hypervisorErrorKind(e)).toBe('segment_in_use');
    expect(await ipIn(a.host, 'link', 'show', a.bridge)).toContain(a.bridge);
  });

  it('keeps the guest-written plaintext out of the LUKS file, and destroying leaves nothing behind', async () => {
    for (const v of vms)
      await v.console!.waitFor(/FN-WROTE rc=\d+/, STEP_BOUND_MS, `${v.label} wrote`);
    for (const v of vms) {
      expect(v.console!.text).toContain('FN-WROTE rc=0');
      // Stopped first, so QEMU has closed (and flushed) the image before it is read.
      await virsh(v.host, 'destroy', v.spec.vmId);
      const needle = Buffer.from(v.plaintext);
      const decrypted = `${v.dataPath}.raw`;
      await exec('qemu-img', [
        'convert',
        '--object',
        `secret,id=s0,file=${v.keyFile}`,
        '--image-opts',
        `driver=qcow2,file.filename=${v.dataPath},encrypt.key-secret=s0`,
        '-O',
        'raw',
        decrypted,
      ]);
      // Positive control: with the key, the guest's write is there...
      expect(
        readFileSync(decrypted).includes(needle),
        `${v.label} plaintext in decrypted image`,
      ).toBe(true);
      rmSync(decrypted);
      // ...and in the file on the host's disk it is not.
      expect(
        readFileSync(v.dataPath).includes(needle),
        `${v.label} plaintext in the qcow2 file`,
      ).toBe(false);
      await destroyVm(v);
    }
    for (const v of vms) {
      await expect(virsh(v.host, 'dominfo', v.spec.vmId)).rejects.toThrow(/failed to get domain/);
      expect(await virsh(v.host, 'secret-list')).not.toContain(v.secretUuid);
      expect(existsSync(v.dataPath)).toBe(false);
      const links = (
        JSON.parse(await ipIn(v.host, '-j', 'link', 'show')) as { ifname: string }[]
      ).map((l) => l.ifname);
      expect(links).not.toContain(v.tap);
      expect(links).not.toContain(v.bridge);
      expect(links).not.toContain(`vx${v.bridge.slice(2)}`);
    }
  });
});
