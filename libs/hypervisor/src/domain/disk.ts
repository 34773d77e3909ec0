/**
 * `<disk>`: a file-backed block device with its driver options, optional LUKS encryption (a
 * reference to a libvirt secret, never the key), per-disk I/O limits and boot order.
 */
import { child, el, textEl, type XmlElement } from '../xml/xml';
import {
  expectName,
  invalid,
  oneOf,
  optionalInteger,
  optionalOneOf,
  requiredAttr,
  type Codec,
} from './codec';

export const DISK_DEVICES = ['disk', 'cdrom'] as const;
export const DISK_BUSES = ['virtio', 'sata', 'scsi', 'ide', 'usb'] as const;
export const DISK_FORMATS = ['qcow2', 'raw'] as const;
export const DISK_CACHES = [
  'default',
  'none',
  'writethrough',
  'writeback',
  'directsync',
  'unsafe',
] as const;

export interface DiskIoTune {
  totalBytesSec?: number;
  totalIopsSec?: number;
  readBytesSec?: number;
  writeBytesSec?: number;
  readIopsSec?: number;
  writeIopsSec?: number;
}

const IOTUNE_FIELDS = [
  ['total_bytes_sec', 'totalBytesSec'],
  ['read_bytes_sec', 'readBytesSec'],
  ['write_bytes_sec', 'writeBytesSec'],
  ['total_iops_sec', 'totalIopsSec'],
  ['read_iops_sec', 'readIopsSec'],
  ['write_iops_sec', 'writeIopsSec'],
] as const;

export interface DiskEncryption {
  format: 'luks';
  /** UUID of the libvirt secret (usage type volume/passphrase) that unlocks the image. */
  secretUuid: string;
}

export interface Disk {
  device: (typeof DISK_DEVICES)[number];
  driver: {
    type: (typeof DISK_FORMATS)[number];
    cache?: (typeof DISK_CACHES)[number];
    discard?: 'unmap' | 'ignore';
  };
  sourceFile: string;
  target: { dev: string; bus: (typeof DISK_BUSES)[number] };
  readonly?: boolean;
  bootOrder?: number;
  encryption?: DiskEncryption;
  iotune?: DiskIoTune;
  /** Serial number the guest sees (e.g. to find a volume by ID inside the guest). */
  serial?: string;
  /** User alias (`ua-` prefix), stable across libvirt restarts. */
  alias?: string;
}

function encryptionToElement(enc: DiskEncryption): XmlElement {
  return el('encryption', { format: enc.format }, [
    el('secret', { type: 'passphrase', uuid: enc.secretUuid }),
  ]);
}

function encryptionFromElement(e: XmlElement): DiskEncryption {
  const format = requiredAttr(e, 'format');
  if (format !== 'luks')
    throw invalid(`disk encryption format ${JSON.stringify(format)} is not supported`);
  const secret = child(e, 'secret');
  if (!secret) throw invalid('<encryption> has no <secret>');
  return { format, secretUuid: requiredAttr(secret, 'uuid') };
}

export const diskCodec: Codec<Disk> = {
  element: 'disk',
  toElement: (d) =>
    el('disk', { type: 'file', device: d.device }, [
      el('driver', {
        name: 'qemu',
        type: d.driver.type,
        cache: d.driver.cache,
        discard: d.driver.discard,
      }),
      el('source', { file: d.sourceFile }),
      el('target', { dev: d.target.dev, bus: d.target.bus }),
      d.readonly ? el('readonly') : undefined,
      d.serial === undefined ? undefined : textEl('serial', d.serial),
      d.bootOrder === undefined ? undefined : el('boot', { order: d.bootOrder }),
      // libvirt accepts <encryption> under <disk> or under <source>; under <disk> is the form the
      // machine facts in DESIGN.md were measured with.
      d.encryption === undefined ? undefined : encryptionToElement(d.encryption),
      d.iotune === undefined
        ? undefined
        : el(
            'iotune',
            {},
            IOTUNE_FIELDS.map(([tag, key]) =>
              d.iotune?.[key] === undefined ? undefined : textEl(tag, d.iotune[key]),
            ),
          ),
      d.alias === undefined ? undefined : el('alias', { name: d.alias }),
    ]),
  fromElement: (e) => {
    expectName(e, 'disk');
    const type = e.attrs.type ?? 'file';
    if (type !== 'file') throw invalid(`disk type ${JSON.stringify(type)} is not supported`);
    const driver = child(e, 'driver');
    const source = child(e, 'source');
    const target = child(e, 'target');
    if (!source) throw invalid('<disk> has no <source>');
    if (!target) throw invalid('<disk> has no <target>');
    const out: Disk = {
      device: oneOf(e.attrs.device ?? 'disk', DISK_DEVICES, 'disk device'),
      driver: { type: oneOf(driver?.attrs.type ?? 'raw', DISK_FORMATS, 'disk driver type') },
      sourceFile: requiredAttr(source, 'file'),
      target: {
        dev: requiredAttr(target, 'dev'),
        bus: oneOf(target.attrs.bus ?? 'virtio', DISK_BUSES, 'disk target bus'),
      },
    };
    const cache = optionalOneOf(driver?.attrs.cache, DISK_CACHES, 'disk driver cache');
    const discard = optionalOneOf(
      driver?.attrs.discard,
      ['unmap', 'ignore'] as const,
      'disk driver discard',
    );
    if (cache !== undefined) out.driver.cache = cache;
    if (discard !== undefined) out.driver.discard = discard;
    if (child(e, 'readonly')) out.readonly = true;
    const serial = child(e, 'serial')?.text;
    if (serial !== undefined) out.serial = serial;
    const boot = optionalInteger(child(e, 'boot')?.attrs.order, 'disk boot order');
    if (boot !== undefined) out.bootOrder = boot;
    const enc = child(e, 'encryption') ?? child(source, 'encryption');
    if (enc) out.encryption = encryptionFromElement(enc);
    const iotune = child(e, 'iotune');
    if (iotune) {
      const t: DiskIoTune = {};
      for (const [tag, key] of IOTUNE_FIELDS) {
        const v = optionalInteger(child(iotune, tag)?.text, `disk iotune ${tag}`);
        if (v !== undefined) t[key] = v;
      }
      out.iotune = t;
    }
    const alias = child(e, 'alias')?.attrs.name;
    if (alias !== undefined) out.alias = alias;
    return out;
  },
};
