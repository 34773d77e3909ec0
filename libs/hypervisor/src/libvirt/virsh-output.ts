/**
 * Reading what virsh prints (states, tables, `dominfo`, batches, domain identity and metadata)
 * and checking the arguments LibvirtHypervisor hands it. Pure functions, no I/O: the output
 * they parse is captured from libvirt 9.0 in virsh-output.spec.ts.
 */
import { AppError, ErrorCode } from '@palisade/contracts';
import { hypervisorError, HypervisorErrorKind as K } from '../contract/errors';
import { parsePalisadeMetadata } from '../domain/domain';
import type { PalisadeMetadata } from '../domain/metadata';
import type { DomainState } from '../hypervisor';
import { childText, parseXml, type XmlElement } from '../xml/xml';

const STATES: Record<string, DomainState> = {
  'no state': 'nostate',
  running: 'running',
  idle: 'blocked',
  blocked: 'blocked',
  paused: 'paused',
  'in shutdown': 'shutdown',
  'shut off': 'shutoff',
  crashed: 'crashed',
  pmsuspended: 'pmsuspended',
};

/**
 * Palisade's metadata, or undefined when the domain has none *or an unreadable one*: a domain
 * whose metadata was tampered with or written by something else is not Palisade's (the reconciler
 * quarantines it), and must not make listing or undefining every other domain fail.
 */
export function metadataOf(xml: string): PalisadeMetadata | undefined {
  try {
    return parsePalisadeMetadata(xml);
  } catch {
    return undefined;
  }
}

/** `<uuid>` and `<name>` of domain XML; `invalid_xml` when it cannot be read or lacks either. */
export function identityOf(xml: string): { uuid: string; name: string } {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (e) {
    throw hypervisorError(K.INVALID_XML, `domain XML rejected: ${(e as Error).message}`, { xml });
  }
  const uuid = childText(root, 'uuid')?.trim().toLowerCase();
  const name = childText(root, 'name')?.trim();
  if (root.name !== 'domain' || !uuid || !name) {
    throw hypervisorError(
      K.INVALID_XML,
      'domain XML rejected: Palisade addresses domains by UUID, so <domain> needs <name> and <uuid>',
      { xml },
    );
  }
  return { uuid, name };
}

/**
 * The output of a `domstate U; dumpxml U; ...` batch, one entry per UUID in order, or undefined
 * when it does not line up (a domain vanished mid-batch) or names another UUID.
 */
export function parseStateXmlBatch(
  out: string,
  uuids: string[],
): { uuid: string; state: DomainState; xml: string }[] | undefined {
  const chunks = out.split('</domain>');
  if (chunks.length !== uuids.length + 1 || chunks[uuids.length]!.trim() !== '') return undefined;
  const result = [];
  for (const [i, uuid] of uuids.entries()) {
    const chunk = chunks[i]!;
    const at = chunk.indexOf('<domain');
    if (at < 0) return undefined;
    const xml = `${chunk.slice(at)}</domain>`;
    if (childText(parseXml(xml), 'uuid')?.trim().toLowerCase() !== uuid) return undefined;
    const { state } = parseState(chunk.slice(0, at).trim());
    result.push({ uuid, state, xml });
  }
  return result;
}

/** `virsh domstate [--reason]` output: `shut off (destroyed)` -> shutoff / destroyed. */
export function parseState(line: string): { state: DomainState; reason?: string } {
  const m = /^(.*?)(?: \((.*)\))?$/.exec(line.trim());
  const state = STATES[(m?.[1] ?? '').toLowerCase()];
  if (!state) {
    throw new AppError(ErrorCode.INTERNAL, `unknown domain state '${line}' from virsh`);
  }
  const reason = m?.[2]?.toLowerCase().replace(/[^a-z0-9]+/g, '_');
  return reason === undefined ? { state } : { state, reason };
}

/** `Key: value` lines, e.g. of `virsh dominfo`. */
export function parseKeyValues(lines: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) out[l.slice(0, i).trim()] = l.slice(i + 1).trim();
  }
  return out;
}

/** Names from `virsh nwfilter-list` (a UUID and a name per row). */
export function parseNwfilterList(out: string): string[] {
  return out
    .split('\n')
    .map((l) => /^\s*[0-9a-f]{8}-[0-9a-f-]{27}\s+(\S+)\s*$/i.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

/** UUIDs from `virsh secret-list` (header, rule, then `<uuid>  <usage>` rows). */
export function parseSecretList(out: string): string[] {
  return out
    .split('\n')
    .map(
      (l) =>
        /^\s*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\s/i.exec(`${l} `)?.[1],
    )
    .filter((u): u is string => u !== undefined)
    .map((u) => u.toLowerCase());
}

/** Rows of `virsh domiflist`: Interface, Type, Source, Model, MAC. */
export function parseDomIfList(out: string): { iface: string; type: string; source: string }[] {
  return out
    .split('\n')
    .slice(2)
    .map((l) => l.trim().split(/\s+/))
    .filter((cols) => cols.length >= 5)
    .map(([iface, type, source]) => ({ iface: iface!, type: type!, source: source! }));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A UUID argument, lower-cased; anything else is refused naming the field. virsh would take a
 *  name or an ID in the same place, and `describe` puts the value into a virsh batch line. */
export function uuidArg(value: string, field = 'uuid'): string {
  const v = typeof value === 'string' ? value.toLowerCase() : '';
  if (!UUID.test(v)) {
    throw new AppError(ErrorCode.VALIDATION_FAILED, `${field} must be a UUID`, {
      details: { field },
    });
  }
  return v;
}

/** Non-empty trimmed lines, e.g. of `virsh list --uuid`. */
export function lines(out: string): string[] {
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}
