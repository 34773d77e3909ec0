/**
 * `<metadata>`: Palisade's own identity for a domain under a private namespace, so a restarted
 * agent can rebuild which VM, tenant and spec revision a domain belongs to from libvirt alone
 * (STYLE.md, after Nova's `<nova:instance>`). Elements of other namespaces are kept verbatim.
 */
import { child, childrenNamed, el, textEl, type XmlElement } from '../xml/xml';
import { expectName, invalid, parseInteger, requiredAttr, type Codec } from './codec';

export const PALISADE_XMLNS = 'https://palisade.dev/xmlns/domain/1';
export const PALISADE_PREFIX = 'palisade';

export interface PalisadeMetadata {
  vmId: string;
  tenantId: string;
  specRevision: number;
  /** The tenant's name for the VM (the domain name is derived from the ID, so it stays unique). */
  name: string;
  /** Disk attachment ID -> volume ID, so volumes can be matched without the database. */
  disks: { id: string; volumeId: string; target: string }[];
  nics: { id: string; mac: string }[];
}

export interface Metadata {
  palisade?: PalisadeMetadata;
  /** Other applications' metadata, untouched. */
  other: XmlElement[];
}

const p = (local: string) => `${PALISADE_PREFIX}:${local}`;

function palisadeToElement(m: PalisadeMetadata): XmlElement {
  return el(p('instance'), { [`xmlns:${PALISADE_PREFIX}`]: PALISADE_XMLNS }, [
    textEl(p('vm'), m.vmId),
    textEl(p('tenant'), m.tenantId),
    textEl(p('specRevision'), m.specRevision),
    textEl(p('name'), m.name),
    el(
      p('disks'),
      {},
      m.disks.map((d) => el(p('disk'), { id: d.id, volume: d.volumeId, target: d.target })),
    ),
    el(
      p('nics'),
      {},
      m.nics.map((n) => el(p('nic'), { id: n.id, mac: n.mac })),
    ),
  ]);
}

/** The prefix an element binds to our namespace, whatever prefix the writer chose (libvirt keeps
 *  the one it was given, but another tool may have used a different one). */
function palisadePrefixOf(e: XmlElement): string | undefined {
  for (const [k, v] of Object.entries(e.attrs)) {
    if (v === PALISADE_XMLNS && k.startsWith('xmlns:')) return k.slice('xmlns:'.length);
  }
  return undefined;
}

function palisadeFromElement(e: XmlElement, prefix: string): PalisadeMetadata {
  const q = (local: string) => `${prefix}:${local}`;
  const text = (local: string) => {
    const v = child(e, q(local))?.text;
    if (v === undefined) throw invalid(`palisade metadata has no <${q(local)}>`);
    return v;
  };
  const disks = child(e, q('disks'));
  const nics = child(e, q('nics'));
  return {
    vmId: text('vm'),
    tenantId: text('tenant'),
    specRevision: parseInteger(text('specRevision'), 'palisade specRevision'),
    name: text('name'),
    disks: (disks ? childrenNamed(disks, q('disk')) : []).map((d) => ({
      id: requiredAttr(d, 'id'),
      volumeId: requiredAttr(d, 'volume'),
      target: requiredAttr(d, 'target'),
    })),
    nics: (nics ? childrenNamed(nics, q('nic')) : []).map((n) => ({
      id: requiredAttr(n, 'id'),
      mac: requiredAttr(n, 'mac'),
    })),
  };
}

export const metadataCodec: Codec<Metadata> = {
  element: 'metadata',
  toElement: (m) =>
    el('metadata', {}, [
      m.palisade === undefined ? undefined : palisadeToElement(m.palisade),
      ...m.other,
    ]),
  fromElement: (e) => {
    expectName(e, 'metadata');
    const out: Metadata = { other: [] };
    for (const c of e.children) {
      const prefix = palisadePrefixOf(c);
      if (prefix !== undefined && c.name === `${prefix}:instance` && out.palisade === undefined)
        out.palisade = palisadeFromElement(c, prefix);
      else out.other.push(c);
    }
    return out;
  },
};
