// What LibvirtHypervisor reads from virsh and qemu-img, on output captured from libvirt 9.0.0 and
// QEMU 7.2 on this host: the error mapping (one case per kind), the table/state/batch parsers.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '@palisade/contracts';
import { classifyLibvirtError, libvirtMessage, toAppError } from './libvirt-errors';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  identityOf,
  metadataOf,
  parseDomIfList,
  parseNwfilterList,
  parseSecretList,
  parseState,
  parseStateXmlBatch,
  uuidArg,
} from './virsh-output';
import { CommandError } from './runner';
import { hypervisorErrorKind } from '../contract/errors';

const UUID = '3fa19453-d889-4e3f-808d-4a8e855d31de';

describe('classifyLibvirtError', () => {
  it.each([
    [`error: failed to get domain '${UUID}'`, 'domain_not_found'],
    [
      `error: Failed to define domain from b.xml\nerror: operation failed: domain 'palisade-${UUID}' already exists with uuid ${UUID}`,
      'domain_conflict',
    ],
    [
      `error: Failed to define domain from c.xml\nerror: operation failed: domain 'palisade-${UUID}' is already defined with uuid ${UUID}`,
      'domain_conflict',
    ],
    [
      "error: Failed to define domain from bad.xml\nerror: (domain_definition):2: Couldn't find end of Start Tag domain line 1",
      'invalid_xml',
    ],
    ['error: XML error: an os <type> must be specified', 'invalid_xml'],
    [
      `error: Failed to start domain 'd'\nerror: Secret not found: no secret with matching uuid '${UUID}'`,
      'secret_missing',
    ],
    [
      `error: internal error: a secret with UUID ${UUID} already defined for use with palisade/volume/x`,
      'secret_conflict',
    ],
    [
      'error: Unable to change memory parameters\nerror: Requested operation is not valid: domain is not running',
      'domain_inactive',
    ],
    ['error: Domain is already active', 'domain_active'],
    ['qemu-img: /v/a.qcow2: Could not write: No space left on device', 'insufficient_capacity'],
    ["qemu-img: Could not open 'r.raw': Image is not in qcow2 format", 'volume_conflict'],
    [
      "qemu-img: Could not open 'driver=qcow2,file.filename=/v/a.qcow2,encrypt.key-secret=sec0': Invalid password, cannot unlock any keyslot",
      'invalid_key',
    ],
  ])('%s -> %s', (stderr, kind) => {
    expect(classifyLibvirtError(stderr)).toBe(kind);
  });

  it('leaves unknown text unclassified', () => {
    expect(
      classifyLibvirtError(
        "error: unsupported configuration: Security driver model 'selinux' is not available",
      ),
    ).toBeUndefined();
  });
});

describe('toAppError', () => {
  it("keeps libvirt's message, the command and the caller's context; unknown text is internal", () => {
    const e = new CommandError(
      'virsh',
      ['-c', 'qemu:///system', 'start', UUID],
      1,
      "error: Failed to start domain 'x'\nerror: unsupported configuration: Security driver model 'selinux' is not available\n",
      '',
      false,
    );
    const app = toAppError(e, 'start domain', { xml: '<domain/>' });
    expect(app.code).toBe(ErrorCode.INTERNAL);
    expect(app.details).toMatchObject({
      xml: '<domain/>',
      command: `virsh -c qemu:///system start ${UUID}`,
      libvirtError:
        "Failed to start domain 'x'\nunsupported configuration: Security driver model 'selinux' is not available",
    });
  });

  it('a timeout is internal even when the output looks like a known kind', () => {
    const e = new CommandError(
      'virsh',
      ['start', UUID],
      null,
      'error: Domain is already active',
      '',
      true,
    );
    const app = toAppError(e, 'start');
    expect(hypervisorErrorKind(app)).toBeUndefined();
    expect(app.details).toMatchObject({ timedOut: true });
  });

  it('strips the error: prefixes', () => {
    expect(libvirtMessage('error: a\n\nerror: b\n')).toBe('a\nb');
  });
});

describe('virsh output parsers', () => {
  it('domstate --reason, including multi-word states and reasons', () => {
    expect(parseState('shut off (destroyed)')).toEqual({ state: 'shutoff', reason: 'destroyed' });
    expect(parseState('running (booted)')).toEqual({ state: 'running', reason: 'booted' });
    expect(parseState('shut off (from snapshot)')).toEqual({
      state: 'shutoff',
      reason: 'from_snapshot',
    });
    expect(parseState('in shutdown')).toEqual({ state: 'shutdown' });
    expect(() => parseState('exploded')).toThrow(/unknown domain state/);
  });

  it('nwfilter-list and domiflist tables', () => {
    expect(
      parseNwfilterList(` UUID                                   Name
------------------------------------------------------------------
 e64eee17-8cd9-4b6c-8a77-ba4aa2a9a036   allow-arp
 d91392c8-3719-411b-aeb1-5a821f412ef9   clean-traffic
`),
    ).toEqual(['allow-arp', 'clean-traffic']);
    expect(
      parseDomIfList(` Interface   Type     Source    Model    MAC
-------------------------------------------------------------
 vnet0       bridge   pbr-int   virtio   52:54:00:aa:bb:01
`),
    ).toEqual([{ iface: 'vnet0', type: 'bridge', source: 'pbr-int' }]);
  });

  it('secret-list: the UUIDs, lower case; an empty table is none', () => {
    expect(
      parseSecretList(` UUID                                   Usage
--------------------------------------------------------------------------------
 3FA19453-D889-4E3F-808D-4A8E855D31DE   volume palisade/volume/3fa19453-d889-4e3f-808d-4a8e855d31de
`),
    ).toEqual([UUID]);
    expect(parseSecretList(' UUID   Usage\n---------------\n\n')).toEqual([]);
  });

  it('identityOf needs a <domain> with <name> and <uuid>, naming what is missing', () => {
    expect(
      identityOf(`<domain type='qemu'><name>n</name><uuid>${UUID.toUpperCase()}</uuid></domain>`),
    ).toEqual({
      uuid: UUID,
      name: 'n',
    });
    for (const bad of [
      '<domain',
      '<domain><name>n</name></domain>',
      `<secret><uuid>${UUID}</uuid></secret>`,
    ]) {
      let kind: string | undefined;
      try {
        identityOf(bad);
      } catch (e) {
        kind = hypervisorErrorKind(e);
      }
      expect(kind).toBe('invalid_xml');
    }
  });
});

describe('uuidArg', () => {
  it('lower-cases a UUID and refuses anything virsh would read otherwise, naming the field', () => {
    expect(uuidArg(UUID.toUpperCase())).toBe(UUID);
    for (const bad of [`${UUID}; destroy x`, 'palisade-x', '', '42']) {
      expect(() => uuidArg(bad, 'secret.uuid')).toThrow('secret.uuid must be a UUID');
    }
  });
});

describe('parseStateXmlBatch', () => {
  // `virsh "domstate A; dumpxml A; domstate B; dumpxml B"` of two defined domains, captured here.
  const out = readFileSync(
    path.join(__dirname, '__captured__', 'domstate-dumpxml-batch.txt'),
    'utf8',
  );
  const A = '11111111-2222-4333-8444-555555555555';
  const B = '11111111-2222-4333-8444-666666666666';

  it('splits it into state and XML per domain, in order', () => {
    const r = parseStateXmlBatch(out, [A, B]);
    expect(r?.map((d) => [d.uuid, d.state])).toEqual([
      [A, 'shutoff'],
      [B, 'shutoff'],
    ]);
    expect(identityOf(r![1]!.xml)).toEqual({ uuid: B, name: `palisade-${B}` });
  });

  it('gives up when the batch does not line up with the UUIDs', () => {
    expect(parseStateXmlBatch(out, [B, A])).toBeUndefined();
    expect(parseStateXmlBatch(out, [A])).toBeUndefined();
    expect(parseStateXmlBatch(out.slice(0, out.lastIndexOf('shut off')), [A, B])).toBeUndefined();
  });
});

describe('metadataOf', () => {
  it('reads Palisade metadata, and treats unreadable metadata as none', () => {
    const meta = (inner: string) =>
      `<domain><metadata><palisade:instance xmlns:palisade='https://palisade.dev/xmlns/domain/1'>${inner}</palisade:instance></metadata></domain>`;
    expect(
      metadataOf(
        meta(
          `<palisade:vm>${UUID}</palisade:vm><palisade:tenant>${UUID}</palisade:tenant><palisade:specRevision>1</palisade:specRevision><palisade:name>x</palisade:name><palisade:disks/><palisade:nics/>`,
        ),
      )?.vmId,
    ).toBe(UUID);
    expect(metadataOf(meta(`<palisade:vm id='${UUID}'/>`))).toBeUndefined();
    expect(metadataOf('<domain/>')).toBeUndefined();
  });
});
