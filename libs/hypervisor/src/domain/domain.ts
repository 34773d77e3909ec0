/**
 * `<domain>`: the whole libvirt domain as Palisade models it, and the two entry points of the
 * model, `domainToXml` and `parseDomainXml`.
 *
 * The model covers the elements Palisade writes plus what a running domain reports about them
 * (domain id, allocated ptys, tap names). Anything else libvirt adds (controllers, addresses,
 * memballoon, video...) is dropped on parse: the designer, not the parsed XML, is the source of
 * truth for a definition. Pure and deterministic; no policy lives here.
 */
import {
  child,
  childrenNamed,
  el,
  parseXml,
  textEl,
  writeXml,
  XmlError,
  type XmlElement,
} from '../xml/xml';
import { consoleCodec, serialCodec, type Console, type Serial } from './chardev';
import {
  expectName,
  invalid,
  oneOf,
  parseInteger,
  parseKiB,
  requiredAttr,
  type Codec,
} from './codec';
import { cpuCodec, type Cpu } from './cpu';
import { diskCodec, type Disk } from './disk';
import { featuresCodec, type Features } from './features';
import { graphicsCodec, type Graphics } from './graphics';
import { interfaceCodec, type Interface } from './interface';
import { metadataCodec, type Metadata, type PalisadeMetadata } from './metadata';
import { osCodec, type Os } from './os';
import { secLabelCodec, type SecLabel } from './seclabel';
import {
  blkioTuneCodec,
  cpuTuneCodec,
  memTuneCodec,
  resourceCodec,
  type BlkioTune,
  type CpuTune,
  type MemTune,
  type Resource,
} from './tuning';

export const DOMAIN_TYPES = ['kvm', 'qemu'] as const;
export const LIFECYCLE_ACTIONS = [
  'destroy',
  'restart',
  'preserve',
  'rename-restart',
  'coredump-destroy',
  'coredump-restart',
] as const;
export type LifecycleAction = (typeof LIFECYCLE_ACTIONS)[number];

export interface Devices {
  emulator?: string;
  disks: Disk[];
  interfaces: Interface[];
  serials: Serial[];
  consoles: Console[];
  graphics: Graphics[];
}

export interface Domain {
  /** `kvm` for hardware acceleration, `qemu` for TCG. */
  type: (typeof DOMAIN_TYPES)[number];
  /** libvirt's runtime ID, present only in a running domain's XML. */
  id?: number;
  name: string;
  uuid: string;
  title?: string;
  description?: string;
  metadata?: Metadata;
  memoryKiB: number;
  currentMemoryKiB?: number;
  vcpus: number;
  blkiotune?: BlkioTune;
  memtune?: MemTune;
  cputune?: CpuTune;
  resource?: Resource;
  os: Os;
  features: Features;
  cpu?: Cpu;
  clockOffset: 'utc' | 'localtime';
  onPoweroff: LifecycleAction;
  onReboot: LifecycleAction;
  onCrash: LifecycleAction;
  devices: Devices;
  seclabels: SecLabel[];
}

function devicesToElement(d: Devices): XmlElement {
  return el('devices', {}, [
    d.emulator === undefined ? undefined : textEl('emulator', d.emulator),
    ...d.disks.map(diskCodec.toElement),
    ...d.interfaces.map(interfaceCodec.toElement),
    ...d.serials.map(serialCodec.toElement),
    ...d.consoles.map(consoleCodec.toElement),
    ...d.graphics.map(graphicsCodec.toElement),
  ]);
}

function devicesFromElement(e: XmlElement | undefined): Devices {
  const all = (name: string) => (e ? childrenNamed(e, name) : []);
  const out: Devices = {
    disks: all('disk').map(diskCodec.fromElement),
    interfaces: all('interface').map(interfaceCodec.fromElement),
    serials: all('serial').map(serialCodec.fromElement),
    consoles: all('console').map(consoleCodec.fromElement),
    graphics: all('graphics').map(graphicsCodec.fromElement),
  };
  const emulator = e && child(e, 'emulator')?.text;
  if (emulator !== undefined) out.emulator = emulator;
  return out;
}

const optional = <T>(v: T | undefined, codec: Codec<T>) =>
  v === undefined ? undefined : codec.toElement(v);

export const domainCodec: Codec<Domain> = {
  element: 'domain',
  // Children in the order `virsh dumpxml` prints them, so a golden file reads like libvirt's echo.
  toElement: (d) =>
    el('domain', { type: d.type, id: d.id }, [
      textEl('name', d.name),
      textEl('uuid', d.uuid),
      d.title === undefined ? undefined : textEl('title', d.title),
      d.description === undefined ? undefined : textEl('description', d.description),
      optional(d.metadata, metadataCodec),
      textEl('memory', d.memoryKiB, { unit: 'KiB' }),
      d.currentMemoryKiB === undefined
        ? undefined
        : textEl('currentMemory', d.currentMemoryKiB, { unit: 'KiB' }),
      optional(d.blkiotune, blkioTuneCodec),
      optional(d.memtune, memTuneCodec),
      textEl('vcpu', d.vcpus, { placement: 'static' }),
      optional(d.cputune, cpuTuneCodec),
      optional(d.resource, resourceCodec),
      osCodec.toElement(d.os),
      featuresCodec.toElement(d.features),
      optional(d.cpu, cpuCodec),
      el('clock', { offset: d.clockOffset }),
      textEl('on_poweroff', d.onPoweroff),
      textEl('on_reboot', d.onReboot),
      textEl('on_crash', d.onCrash),
      devicesToElement(d.devices),
      ...d.seclabels.map(secLabelCodec.toElement),
    ]),
  fromElement: (e) => {
    expectName(e, 'domain');
    const text = (name: string) => {
      const v = child(e, name)?.text;
      if (v === undefined) throw invalid(`<domain> has no <${name}>`);
      return v;
    };
    const memory = child(e, 'memory');
    const os = child(e, 'os');
    if (!memory) throw invalid('<domain> has no <memory>');
    if (!os) throw invalid('<domain> has no <os>');
    const lifecycle = (name: string, dflt: LifecycleAction) =>
      oneOf(child(e, name)?.text ?? dflt, LIFECYCLE_ACTIONS, name);
    const out: Domain = {
      type: oneOf(requiredAttr(e, 'type'), DOMAIN_TYPES, 'domain type'),
      name: text('name'),
      uuid: text('uuid'),
      memoryKiB: parseKiB(memory, 'memory'),
      vcpus: parseInteger(text('vcpu'), 'vcpu'),
      os: osCodec.fromElement(os),
      features: featuresCodec.fromElement(child(e, 'features') ?? el('features')),
      clockOffset: oneOf(
        child(e, 'clock')?.attrs.offset ?? 'utc',
        ['utc', 'localtime'] as const,
        'clock offset',
      ),
      // libvirt's defaults when the element is absent.
      onPoweroff: lifecycle('on_poweroff', 'destroy'),
      onReboot: lifecycle('on_reboot', 'restart'),
      onCrash: lifecycle('on_crash', 'destroy'),
      devices: devicesFromElement(child(e, 'devices')),
      seclabels: childrenNamed(e, 'seclabel').map(secLabelCodec.fromElement),
    };
    if (e.attrs.id !== undefined) out.id = parseInteger(e.attrs.id, 'domain id');
    const title = child(e, 'title');
    const description = child(e, 'description');
    if (title) out.title = title.text ?? '';
    if (description) out.description = description.text ?? '';
    const currentMemory = child(e, 'currentMemory');
    if (currentMemory) out.currentMemoryKiB = parseKiB(currentMemory, 'currentMemory');
    const part = <T>(codec: Codec<T>): T | undefined => {
      const c = child(e, codec.element);
      return c === undefined ? undefined : codec.fromElement(c);
    };
    const metadata = part(metadataCodec);
    const blkiotune = part(blkioTuneCodec);
    const memtune = part(memTuneCodec);
    const cputune = part(cpuTuneCodec);
    const resource = part(resourceCodec);
    const cpu = part(cpuCodec);
    if (metadata) out.metadata = metadata;
    if (blkiotune) out.blkiotune = blkiotune;
    if (memtune) out.memtune = memtune;
    if (cputune) out.cputune = cputune;
    if (resource) out.resource = resource;
    if (cpu) out.cpu = cpu;
    return out;
  },
};

/** The domain as libvirt XML: two-space indented, single-quoted attributes, trailing newline. */
export function domainToXml(domain: Domain): string {
  return writeXml(domainCodec.toElement(domain));
}

/** Reads domain XML from libvirt (or from `domainToXml`). Throws `common.internal` on XML the
 *  model cannot read. */
export function parseDomainXml(xml: string): Domain {
  return domainCodec.fromElement(readRoot(xml));
}

/** Only Palisade's metadata, or undefined for a domain Palisade did not define. Reads nothing
 *  else, so it works on any domain, including ones the full model would refuse. */
export function parsePalisadeMetadata(xml: string): PalisadeMetadata | undefined {
  const root = readRoot(xml);
  const metadata = child(root, 'metadata');
  return metadata ? metadataCodec.fromElement(metadata).palisade : undefined;
}

function readRoot(xml: string): XmlElement {
  try {
    return parseXml(xml);
  } catch (e) {
    if (e instanceof XmlError) throw invalid(e.message, e);
    throw e;
  }
}
