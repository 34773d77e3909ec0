import type { PeerCertificate } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { CERT_OU } from '@palisade/contracts';
import { checkControlPlaneIdentity } from './gateway-client';

// The shape Node's TLS layer hands to checkServerIdentity for a verified peer.
const peer = (ou: string, san: string) =>
  ({ subject: { CN: 'x', OU: ou }, subjectaltname: san }) as unknown as PeerCertificate;

describe('checkControlPlaneIdentity', () => {
  it("accepts the control plane's certificate for the name dialled", () => {
    expect(
      checkControlPlaneIdentity('127.0.0.1', peer(CERT_OU.controlPlane, 'IP Address:127.0.0.1')),
    ).toBeUndefined();
  });

  it('refuses a host certificate even when its SAN matches the gateway name', () => {
    expect(
      checkControlPlaneIdentity('127.0.0.1', peer(CERT_OU.host, 'IP Address:127.0.0.1'))?.message,
    ).toContain("not the control plane's");
  });

  it('refuses a control-plane certificate for another name', () => {
    expect(
      checkControlPlaneIdentity('cp.example', peer(CERT_OU.controlPlane, 'DNS:other.example')),
    ).toBeInstanceOf(Error);
  });
});
