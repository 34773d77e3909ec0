/**
 * `<interface type='bridge'>`: a NIC on a host bridge with a fixed MAC, a model, an nwfilter
 * reference with its parameters, and QoS (`<bandwidth>`). Only bridge interfaces: every Palisade
 * segment is a host bridge (DESIGN.md, L2 segments).
 */
import { child, childrenNamed, el, type XmlElement } from '../xml/xml';
import { expectName, invalid, optionalInteger, requiredAttr, type Codec } from './codec';

export interface BandwidthLimit {
  /** KiB/s. */
  average: number;
  /** KiB/s. */
  peak?: number;
  /** KiB. */
  burst?: number;
}

export interface Bandwidth {
  inbound?: BandwidthLimit;
  outbound?: BandwidthLimit;
}

export interface FilterRef {
  filter: string;
  /** In order; a name may repeat (libvirt turns repeats into a list, e.g. several IPs). */
  parameters: { name: string; value: string }[];
}

export interface Interface {
  mac: string;
  sourceBridge: string;
  /** `virtio` for Palisade guests; absent means QEMU's machine default. */
  model?: string;
  /** Host-side tap name. Read back from a running domain; names starting `vnet` are libvirt's. */
  targetDev?: string;
  filterref?: FilterRef;
  bandwidth?: Bandwidth;
  alias?: string;
}

function limitToElement(name: 'inbound' | 'outbound', l: BandwidthLimit | undefined) {
  return l === undefined
    ? undefined
    : el(name, { average: l.average, peak: l.peak, burst: l.burst });
}

function limitFromElement(e: XmlElement | undefined, where: string): BandwidthLimit | undefined {
  if (!e) return undefined;
  const average = optionalInteger(e.attrs.average, `${where} average`);
  if (average === undefined) throw invalid(`${where} has no average`);
  const out: BandwidthLimit = { average };
  const peak = optionalInteger(e.attrs.peak, `${where} peak`);
  const burst = optionalInteger(e.attrs.burst, `${where} burst`);
  if (peak !== undefined) out.peak = peak;
  if (burst !== undefined) out.burst = burst;
  return out;
}

export const interfaceCodec: Codec<Interface> = {
  element: 'interface',
  toElement: (i) =>
    el('interface', { type: 'bridge' }, [
      el('mac', { address: i.mac }),
      el('source', { bridge: i.sourceBridge }),
      i.targetDev === undefined ? undefined : el('target', { dev: i.targetDev }),
      i.model === undefined ? undefined : el('model', { type: i.model }),
      i.filterref === undefined
        ? undefined
        : el(
            'filterref',
            { filter: i.filterref.filter },
            i.filterref.parameters.map((p) => el('parameter', { name: p.name, value: p.value })),
          ),
      i.bandwidth === undefined
        ? undefined
        : el('bandwidth', {}, [
            limitToElement('inbound', i.bandwidth.inbound),
            limitToElement('outbound', i.bandwidth.outbound),
          ]),
      i.alias === undefined ? undefined : el('alias', { name: i.alias }),
    ]),
  fromElement: (e) => {
    expectName(e, 'interface');
    if (e.attrs.type !== 'bridge')
      throw invalid(`interface type ${JSON.stringify(e.attrs.type)} is not supported`);
    const mac = child(e, 'mac');
    const source = child(e, 'source');
    if (!mac) throw invalid('<interface> has no <mac>');
    if (!source) throw invalid('<interface> has no <source>');
    const out: Interface = {
      mac: requiredAttr(mac, 'address'),
      sourceBridge: requiredAttr(source, 'bridge'),
    };
    const model = child(e, 'model')?.attrs.type;
    if (model !== undefined) out.model = model;
    const target = child(e, 'target')?.attrs.dev;
    if (target !== undefined) out.targetDev = target;
    const filterref = child(e, 'filterref');
    if (filterref) {
      out.filterref = {
        filter: requiredAttr(filterref, 'filter'),
        parameters: childrenNamed(filterref, 'parameter').map((p) => ({
          name: requiredAttr(p, 'name'),
          value: requiredAttr(p, 'value'),
        })),
      };
    }
    const bandwidth = child(e, 'bandwidth');
    if (bandwidth) {
      const b: Bandwidth = {};
      const inbound = limitFromElement(child(bandwidth, 'inbound'), 'bandwidth inbound');
      const outbound = limitFromElement(child(bandwidth, 'outbound'), 'bandwidth outbound');
      if (inbound) b.inbound = inbound;
      if (outbound) b.outbound = outbound;
      out.bandwidth = b;
    }
    const alias = child(e, 'alias')?.attrs.name;
    if (alias !== undefined) out.alias = alias;
    return out;
  },
};
