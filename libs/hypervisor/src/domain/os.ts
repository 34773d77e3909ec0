/**
 * `<os>`: guest type, machine, and how it boots: from devices in `<boot dev>` order, or directly
 * from a kernel and initrd on the host (the tiny test image has no bootloader). Per-device
 * `<boot order>` lives on the devices; libvirt refuses both forms together.
 */
import { child, childrenNamed, el, textEl } from '../xml/xml';
import { expectName, invalid, oneOf, type Codec } from './codec';

export const BOOT_DEVS = ['hd', 'cdrom', 'network', 'fd'] as const;

export interface Os {
  type: 'hvm';
  arch?: string;
  machine?: string;
  bootDevs: (typeof BOOT_DEVS)[number][];
  kernel?: string;
  initrd?: string;
  cmdline?: string;
}

export const osCodec: Codec<Os> = {
  element: 'os',
  toElement: (o) =>
    el('os', {}, [
      textEl('type', o.type, { arch: o.arch, machine: o.machine }),
      o.kernel === undefined ? undefined : textEl('kernel', o.kernel),
      o.initrd === undefined ? undefined : textEl('initrd', o.initrd),
      o.cmdline === undefined ? undefined : textEl('cmdline', o.cmdline),
      ...o.bootDevs.map((dev) => el('boot', { dev })),
    ]),
  fromElement: (e) => {
    expectName(e, 'os');
    const type = child(e, 'type');
    if (type?.text !== 'hvm')
      throw invalid(`os type ${JSON.stringify(type?.text)} is not supported`);
    const out: Os = {
      type: 'hvm',
      bootDevs: childrenNamed(e, 'boot').map((b) =>
        oneOf(b.attrs.dev ?? '', BOOT_DEVS, 'os boot dev'),
      ),
    };
    if (type.attrs.arch !== undefined) out.arch = type.attrs.arch;
    if (type.attrs.machine !== undefined) out.machine = type.attrs.machine;
    for (const key of ['kernel', 'initrd', 'cmdline'] as const) {
      const c = child(e, key);
      // An empty <cmdline/> is a present, empty command line.
      if (c) out[key] = c.text ?? '';
    }
    return out;
  },
};
