import type { IsolationReport } from '@palisade/contracts';
import { describe, expect, it } from 'vitest';
import { checkIsolation, type IsolationExpectation } from './isolation-check';

const expectation: IsolationExpectation = {
  mcs: { c1: 12, c2: 345 },
  cpu: { quotaUs: 50_000, periodUs: 100_000 },
  nics: [{ mac: '52:54:00:aa:bb:cc', ip: '10.0.0.5' }],
};

function report(over: Partial<IsolationReport> = {}): IsolationReport {
  return {
    vmId: 'vm',
    domainName: 'vm',
    measuredAt: '2026-11-21T00:00:00.000Z',
    seclabels: [
      {
        model: 'selinux',
        type: 'static',
        label: 'system_u:system_r:svirt_t:s0:c12,c345',
        imageLabel: 'system_u:object_r:svirt_image_t:s0:c12,c345',
        source: 'virsh dumpxml (live)',
      },
      {
        model: 'dac',
        type: 'static',
        label: '+107:+107',
        imageLabel: null,
        source: 'virsh dumpxml (live)',
      },
    ],
    cgroups: {
      path: 'machine/palisade-t.partition/qemu-1-vm.libvirt-qemu',
      cpuShares: { value: 1024, source: 'cpu.shares' },
      vcpus: [
        {
          vcpu: 0,
          quotaUs: 50_000,
          periodUs: 100_000,
          source: '/sys/fs/cgroup/cpu/…/vcpu0/cpu.cfs_quota_us',
        },
      ],
      memoryHardLimitBytes: { value: null, source: 'memory.limit_in_bytes' },
      memorySoftLimitBytes: { value: null, source: 'memory.soft_limit_in_bytes' },
      blkioWeight: { value: null, source: 'blkio.weight' },
    },
    network: [
      {
        mac: '52:54:00:AA:BB:CC',
        tap: 'vnet3',
        bridge: { value: 'pbr-x100', source: '/sys/class/net/vnet3/master' },
        filter: { value: 'clean-traffic', source: 'virsh dumpxml (live)' },
        filterParameters: { IP: '10.0.0.5' },
        binding: { value: 'clean-traffic', source: 'virsh nwfilter-binding-list' },
        bandwidth: {
          value: { inboundAverageKBps: 1250, outboundAverageKBps: 1250 },
          source: 'live XML <interface> <bandwidth>',
        },
      },
    ],
    storage: [
      {
        target: 'vda',
        path: '/v/root.qcow2',
        readonly: false,
        format: 'qcow2',
        encryption: { value: 'luks', source: 'qemu-img info' },
      },
      {
        target: 'sda',
        path: '/v/seed.img',
        readonly: true,
        format: 'raw',
        encryption: { value: 'none', source: 'qemu-img info' },
      },
    ],
    weakenings: [],
    ...over,
  };
}

describe('checkIsolation', () => {
  it('a VM whose host measured every mechanism as asked is isolated', () => {
    const r = checkIsolation(expectation, report(), []);
    expect(r.verdict).toBe('isolated');
    expect(r.checks.map((c) => [c.mechanism, c.status])).toEqual([
      ['svirt', 'pass'],
      ['cpu', 'pass'],
      ['network', 'pass'],
      ['filter', 'pass'],
      ['storage', 'pass'],
    ]);
  });

  it('a label with another MCS pair is a violation, not a pass', () => {
    const r = checkIsolation(
      expectation,
      report({
        seclabels: [
          {
            model: 'selinux',
            type: 'static',
            label: 'system_u:system_r:svirt_t:s0:c12,c346',
            imageLabel: 'system_u:object_r:svirt_image_t:s0:c12,c346',
            source: 'live',
          },
        ],
      }),
      [],
    );
    expect(r.verdict).toBe('violated');
    expect(r.checks[0]).toMatchObject({ mechanism: 'svirt', status: 'fail' });
  });

  it('no label with the operator-allowed weakening is weakened; without it, violated', () => {
    const dacOnly = report({
      seclabels: [
        { model: 'dac', type: 'static', label: '+107:+107', imageLabel: null, source: 'live' },
      ],
    });
    const allowed = checkIsolation(expectation, dacOnly, [
      { mechanism: 'svirt', reason: 'no MAC' },
    ]);
    expect(allowed.verdict).toBe('weakened');
    expect(allowed.checks[0]).toMatchObject({
      status: 'weakened',
      measured: 'dac static +107:+107',
    });
    expect(checkIsolation(expectation, dacOnly, []).verdict).toBe('violated');
  });

  it('a wrong CPU quota, an unbound filter, a filter for another IP and a plain disk each fail', () => {
    const base = report();
    const cases: Partial<IsolationReport>[] = [
      {
        cgroups: {
          ...base.cgroups,
          vcpus: [{ vcpu: 0, quotaUs: -1, periodUs: 100_000, source: 's' }],
        },
      },
      { network: [{ ...base.network[0]!, binding: { value: null, source: 'b' } }] },
      { network: [{ ...base.network[0]!, filterParameters: { IP: '10.0.0.6' } }] },
      { network: [] },
      { storage: [{ ...base.storage[0]!, encryption: { value: 'none', source: 'q' } }] },
    ];
    for (const c of cases)
      expect(checkIsolation(expectation, report(c), []).verdict).toBe('violated');
  });

  it('no vCPU cgroup is unknown, and a memory limit is checked only when the spec sets one', () => {
    const base = report();
    expect(
      checkIsolation(expectation, report({ cgroups: { ...base.cgroups, vcpus: [] } }), []).verdict,
    ).toBe('unknown');
    const withLimit = checkIsolation({ ...expectation, memoryHardLimitMiB: 256 }, base, []);
    expect(withLimit.checks.find((c) => c.mechanism === 'memory')).toMatchObject({
      status: 'fail',
      measured: 'unlimited',
    });
    const limited = report({
      cgroups: { ...base.cgroups, memoryHardLimitBytes: { value: 256 * 1024 * 1024, source: 'm' } },
    });
    expect(checkIsolation({ ...expectation, memoryHardLimitMiB: 256 }, limited, []).verdict).toBe(
      'isolated',
    );
  });

  it('a NIC rate is checked when the flavor sets one: as asked passes; none is weakened only when the host said so at start', () => {
    const limited = { ...expectation, nics: [{ ...expectation.nics[0]!, averageKBps: 1250 }] };
    const ok = checkIsolation(limited, report(), []);
    expect(ok.verdict).toBe('isolated');
    expect(ok.checks.find((c) => c.mechanism === 'bandwidth')).toMatchObject({
      status: 'pass',
      measured: 'in 1250, out 1250 KiB/s',
    });
    const base = report();
    const unshaped = report({
      network: [{ ...base.network[0]!, bandwidth: { value: null, source: 'live XML' } }],
    });
    const said = [{ mechanism: 'bandwidth', reason: 'kernel lacks sfq' }];
    expect(checkIsolation(limited, unshaped, said).verdict).toBe('weakened');
    // The report's own weakenings say what is missing, not that the operator allowed it.
    expect(
      checkIsolation(limited, { ...unshaped, weakenings: [{ ...said[0]!, source: 'x' }] }, [])
        .verdict,
    ).toBe('violated');
  });

  it('no report at all is unknown with no checks', () => {
    expect(checkIsolation(expectation, null, [])).toEqual({ verdict: 'unknown', checks: [] });
  });
});
