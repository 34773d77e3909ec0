/**
 * The host's TLS identity on disk: its private key (0600, never leaves this host), the certificate
 * the control plane issued for it, and the Palisade CA. Files are replaced by rename, so a crash
 * mid-write leaves the old identity or the new one, never half of each.
 */
import 'reflect-metadata';
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as typeof globalThis.crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface HostIdentity {
  keyPem: string;
  certPem: string;
  caPem: string;
  notBefore: Date;
  notAfter: Date;
}

export const identityFiles = (stateDir: string) => {
  const dir = path.join(stateDir, 'pki');
  return {
    dir,
    key: path.join(dir, 'host.key'),
    cert: path.join(dir, 'host.crt'),
    ca: path.join(dir, 'ca.crt'),
  };
};

export function identityOf(keyPem: string, certPem: string, caPem: string): HostIdentity {
  const cert = new X509Certificate(certPem);
  return {
    keyPem,
    certPem,
    caPem,
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
  };
}

/** The stored identity, or null when this host has not enrolled yet. */
export async function loadIdentity(stateDir: string): Promise<HostIdentity | null> {
  const f = identityFiles(stateDir);
  const read = (file: string) => readFile(file, 'utf8').catch(() => null);
  const [key, cert, ca] = await Promise.all([read(f.key), read(f.cert), read(f.ca)]);
  if (key === null || cert === null || ca === null) return null;
  return identityOf(key, cert, ca);
}

async function replace(file: string, content: string, mode: number): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, content, { mode });
  await rename(tmp, file);
}

export async function saveIdentity(stateDir: string, id: HostIdentity): Promise<void> {
  const f = identityFiles(stateDir);
  await mkdir(f.dir, { recursive: true, mode: 0o700 });
  // CA and key before the certificate: a certificate on disk means the rest is there too.
  await replace(f.ca, id.caPem, 0o644);
  await replace(f.key, id.keyPem, 0o600);
  await replace(f.cert, id.certPem, 0o644);
}

/** A new key pair and a CSR for it. Only the CSR's public key matters to the CA. */
export async function newKeyAndCsr(hostName: string): Promise<{ keyPem: string; csrPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${hostName}`,
    keys,
    signingAlgorithm: ALG,
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();
  return { keyPem, csrPem: csr.toString('pem') };
}
