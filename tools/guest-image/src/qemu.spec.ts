import { describe, expect, it } from 'vitest';
import { tinyQemuArgs, type TinyGuestOptions } from './qemu';

const base: TinyGuestOptions = {
  boot: {
    kind: 'direct',
    kernel: '/c/vmlinux',
    initrd: '/c/initrd.img',
    cmdline: 'console=ttyS0 quiet',
  },
  disks: [{ file: '/w/seed.img', format: 'raw', readonly: true }],
  network: { kind: 'none' },
  workDir: '/w',
};
const argsOf = (o: Partial<TinyGuestOptions>) =>
  tinyQemuArgs({ ...base, ...o }, '/w/serial.sock', '/w/serial.log');

describe('tinyQemuArgs', () => {
  it('uses TCG and never KVM', () => {
    const args = argsOf({});
    expect(args[args.indexOf('-machine') + 1]).toBe('pc,accel=tcg');
    expect(args.join(' ')).not.toMatch(/kvm|-enable-kvm/);
  });

  it('has no NIC at all for network none, not even the default one', () => {
    const args = argsOf({});
    expect(args).toContain('-nodefaults');
    expect(args.join(' ')).toContain('-nic none');
    expect(args.join(' ')).not.toContain('-netdev');
  });

  it('restricts the user-mode NIC and forwards only from 127.0.0.1', () => {
    const args = argsOf({
      network: {
        kind: 'isolated-user',
        mac: '52:54:00:00:00:01',
        forwards: [{ hostPort: 40007, guestIp: '10.0.2.15', guestPort: 7 }],
      },
    });
    expect(args[args.indexOf('-netdev') + 1]).toBe(
      'user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:40007-10.0.2.15:7',
    );
    expect(args[args.indexOf('-device', args.indexOf('-netdev')) + 1]).toBe(
      'virtio-net-pci,netdev=net0,mac=52:54:00:00:00:01',
    );
  });

  it('boots the BIOS from the boot disk only, the seed read-only after it', () => {
    const args = argsOf({ boot: { kind: 'bios', disk: '/w/overlay.qcow2', format: 'qcow2' } });
    expect(args).not.toContain('-kernel');
    const drives = args.filter((_, i) => args[i - 1] === '-drive');
    const devices = args.filter((_, i) => args[i - 1] === '-device');
    expect(drives).toEqual([
      'file=/w/overlay.qcow2,format=qcow2,if=none,id=disk0',
      'file=/w/seed.img,format=raw,if=none,id=disk1,readonly=on',
    ]);
    expect(devices).toEqual([
      'virtio-blk-pci,drive=disk0,bootindex=0',
      'virtio-blk-pci,drive=disk1',
    ]);
  });

  it('refuses paths that would smuggle extra qemu options through a comma', () => {
    expect(() => argsOf({ disks: [{ file: '/w/x.img,readonly=off', format: 'raw' }] })).toThrow(
      "cannot contain ','",
    );
  });
});
