import { describe, expect, it } from 'vitest';
import { parseMarkers } from './markers';

describe('parseMarkers', () => {
  it('reads the lines /init prints, through CRLF and other console output', () => {
    const serial = [
      'SYSLINUX 6.04 20210613 Copyright (C) 1994-2015 H. Peter Anvin et al',
      'PALISADE-TINY BOOT image=000d729a60641b6f kernel=6.1.0-56-amd64 uptime=2.52\r',
      'PALISADE-TINY WARN no NIC with mac=52:54:00:12:34:56\r',
      'PALISADE-TINY DISKS seed=/dev/vdb data=/dev/vda2\r',
      'PALISADE-TINY READY hostname=tiny-1 ip=10.0.2.15/24 mac=52:54:00:12:34:56 instance=i-123\r',
      'hello from user-data',
      'PALISADE-TINY USERDATA-DONE rc=3\r',
      'tiny-1# ',
    ].join('\n');
    expect(parseMarkers(serial)).toEqual({
      boot: { image: '000d729a60641b6f', kernel: '6.1.0-56-amd64', uptimeSeconds: 2.52 },
      disks: { seed: '/dev/vdb', data: '/dev/vda2' },
      ready: {
        hostname: 'tiny-1',
        ip: '10.0.2.15/24',
        mac: '52:54:00:12:34:56',
        instance: 'i-123',
      },
      userdataDone: { rc: 3 },
      userdataSkipped: false,
      errors: [],
      warnings: ['no NIC with mac=52:54:00:12:34:56'],
    });
  });

  it("maps 'none' to null and reports a missing seed", () => {
    const m = parseMarkers(
      [
        'PALISADE-TINY ERROR no cidata seed found (attach a vfat disk labelled cidata as a virtio disk)',
        'PALISADE-TINY DISKS seed=none data=none',
        'PALISADE-TINY READY hostname=palisade-tiny ip=none mac=none instance=none',
        'PALISADE-TINY USERDATA-SKIPPED not a #! script',
        'PALISADE-TINY USERDATA-DONE rc=0',
      ].join('\n'),
    );
    expect(m.errors).toHaveLength(1);
    expect(m.disks).toEqual({ seed: null, data: null });
    expect(m.ready).toEqual({ hostname: 'palisade-tiny', ip: null, mac: null, instance: null });
    expect(m.userdataSkipped).toBe(true);
  });

  it('sees nothing before READY is complete', () => {
    expect(
      parseMarkers('PALISADE-TINY BOOT image=x kernel=y uptime=1\nPALISADE-TI').ready,
    ).toBeUndefined();
  });
});
