import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@palisade/contracts';
import {
  type CertificateAuthority,
  generateKeyPair,
  issueCertificate,
  loadOrCreateCa,
  publicKeyOfCsr,
} from './x509';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

describe('control-plane CA', () => {
  let dir: string;
  let ca: CertificateAuthority;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'palisade-ca-'));
    ca = await loadOrCreateCa(path.join(dir, 'pki'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('is a CA certificate, its key file is 0600 and its directory 0700', async () => {
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(((await stat(path.join(dir, 'pki', 'ca.key'))).mode & 0o777).toString(8)).toBe('600');
    expect(((await stat(path.join(dir, 'pki'))).mode & 0o777).toString(8)).toBe('700');
  });

  it('uses only the public key of a CSR: its subject and SANs are ignored', async () => {
    const keys = await generateKeyPair();
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=palisade-control-plane, OU=palisade-control-plane',
      keys,
      signingAlgorithm: ALG,
      extensions: [
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'evil.example' }]),
      ],
    });
    const now = new Date('2026-11-21T12:00:00Z');
    const issued = await issueCertificate(ca, {
      publicKey: await publicKeyOfCsr(csr.toString('pem')),
      commonName: 'hv1',
      organizationalUnit: 'palisade-hosts',
      names: ['hv1', '192.0.2.10'],
      validityDays: 30,
      now,
    });
    const cert = new X509Certificate(issued.pem);
    expect(cert.subject).toContain('CN=hv1');
    expect(cert.subject).toContain('OU=palisade-hosts');
    expect(cert.subjectAltName).toBe('DNS:hv1, IP Address:192.0.2.10');
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual(
      expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']),
    );
    expect(new Date(cert.validTo).getTime() - now.getTime()).toBe(30 * 86_400_000);
    // The certificate carries the CSR's key, so only the CSR's owner can use it.
    const spki = Buffer.from(await crypto.subtle.exportKey('spki', keys.publicKey));
    expect(cert.publicKey.export({ format: 'der', type: 'spki' }).equals(spki)).toBe(true);
  });

  it('refuses a CSR whose signature does not match its key, naming the field', async () => {
    const a = await generateKeyPair();
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=hv1',
      keys: a,
      signingAlgorithm: ALG,
    });
    // Flip a bit in the signature (the DER's last byte).
    const der = Buffer.from(csr.rawData);
    der[der.length - 1] = der[der.length - 1]! ^ 0x01;
    const tampered = new x509.Pkcs10CertificateRequest(der).toString('pem');
    await expect(publicKeyOfCsr(tampered)).rejects.toMatchObject({
      code: ErrorCode.VALIDATION_FAILED,
      details: { field: 'csr' },
    });
    await expect(
      publicKeyOfCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n'),
    ).rejects.toMatchObject({
      code: ErrorCode.VALIDATION_FAILED,
    });
  });

  it('refuses to load a CA key that group or others can read', async () => {
    const d = path.join(dir, 'loose');
    await loadOrCreateCa(d);
    await chmod(path.join(d, 'ca.key'), 0o644);
    await expect(loadOrCreateCa(d)).rejects.toThrow(/readable by group or others/);
  });
});
