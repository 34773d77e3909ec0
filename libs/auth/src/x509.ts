/**
 * The control plane's certificate authority: X.509 creation with @peculiar/x509 on Node's
 * WebCrypto (docs/decisions/0005). It signs host certificates from CSRs, using ONLY the CSR's public
 * key: the subject, SANs, usages and validity are decided here, never taken from the request.
 * It must never write the CA key anywhere but its own 0600 file.
 */
import 'reflect-metadata';
import { createHash, createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import * as x509 from '@peculiar/x509';
import { AppError, ErrorCode } from '@palisade/contracts';

x509.cryptoProvider.set(webcrypto as unknown as typeof globalThis.crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
const CA_YEARS = 10;

export interface CertificateAuthority {
  cert: x509.X509Certificate;
  certPem: string;
  privateKey: webcrypto.CryptoKey;
  /** SHA-256 of the CA certificate's DER, lowercase hex: what agents pin. */
  fingerprint: string;
}

export const sha256Hex = (der: ArrayBuffer | Buffer) =>
  createHash('sha256')
    .update(Buffer.isBuffer(der) ? der : Buffer.from(der))
    .digest('hex');

export const fingerprintOfPem = (pem: string) => sha256Hex(new X509Certificate(pem).raw);

/** PEM with a final newline, so PEMs can be concatenated into a chain. */
const pemOf = (cert: x509.X509Certificate) => `${cert.toString('pem').trim()}\n`;

const serial = () => {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive, as RFC 5280 requires
  return b.toString('hex');
};

async function exportPkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();
}

async function importPkcs8Pem(pem: string): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  return webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']);
}

export const generateKeyPair = () =>
  webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as Promise<webcrypto.CryptoKeyPair>;

/**
 * Loads the CA from `dir` (ca.key, ca.crt), creating both on first boot. A key readable by group
 * or others, or a key without its certificate, stops the boot: both mean someone else touched it.
 */
export async function loadOrCreateCa(dir: string, now = new Date()): Promise<CertificateAuthority> {
  const keyFile = path.join(dir, 'ca.key');
  const certFile = path.join(dir, 'ca.crt');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const existing = await stat(keyFile).catch(() => null);
  if (!existing) {
    const keys = await generateKeyPair();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: 'CN=Palisade control-plane CA, O=Palisade',
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + CA_YEARS * 365 * DAY_MS),
      keys,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    try {
      // 'wx': if another API process created the CA at the same moment, keep theirs.
      await writeFile(keyFile, await exportPkcs8Pem(keys.privateKey), { flag: 'wx', mode: 0o600 });
      await writeFile(certFile, pemOf(cert), { flag: 'wx', mode: 0o644 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  const keyStat = await stat(keyFile);
  if ((keyStat.mode & 0o077) !== 0) {
    throw new Error(
      `${keyFile} is readable by group or others (mode ${(keyStat.mode & 0o777).toString(8)}): chmod 600 it`,
    );
  }
  const certPem = await readFile(certFile, 'utf8').catch(() => {
    throw new Error(`${keyFile} exists but ${certFile} does not: restore the CA certificate`);
  });
  const cert = new x509.X509Certificate(certPem);
  return {
    cert,
    certPem: pemOf(cert),
    privateKey: await importPkcs8Pem(await readFile(keyFile, 'utf8')),
    fingerprint: sha256Hex(cert.rawData),
  };
}

/** The CSR's public key, after checking the CSR is well-formed and signed by that key. */
export async function publicKeyOfCsr(pem: string): Promise<webcrypto.CryptoKey> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem.trim());
  } catch (e) {
    throw new AppError(ErrorCode.VALIDATION_FAILED, 'unparsable CSR', {
      userMessage: 'csr: not a parsable PKCS#10 certificate request',
      details: { field: 'csr' },
      cause: e,
    });
  }
  const ok = await csr.verify().catch(() => false);
  if (!ok) {
    throw new AppError(ErrorCode.VALIDATION_FAILED, 'CSR signature does not verify', {
      userMessage: 'csr: its signature does not match its public key',
      details: { field: 'csr' },
    });
  }
  return csr.publicKey.export(ALG, ['verify']).catch((e: unknown) => {
    throw new AppError(ErrorCode.VALIDATION_FAILED, 'CSR key is not ECDSA P-256', {
      userMessage: 'csr: the key must be ECDSA P-256',
      details: { field: 'csr' },
      cause: e,
    });
  });
}

export interface IssueParams {
  publicKey: webcrypto.CryptoKey;
  commonName: string;
  organizationalUnit: string;
  /** DNS names and IP addresses. */
  names: string[];
  validityDays: number;
  now?: Date;
}

export interface IssuedCertificate {
  pem: string;
  fingerprint: string;
  notBefore: Date;
  notAfter: Date;
}

/** A leaf certificate for TLS in both directions (serverAuth + clientAuth). */
export async function issueCertificate(
  ca: CertificateAuthority,
  p: IssueParams,
): Promise<IssuedCertificate> {
  const now = p.now ?? new Date();
  // A minute of slack for clocks that disagree slightly, never more.
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + p.validityDays * DAY_MS);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${p.commonName}, OU=${p.organizationalUnit}, O=Palisade`,
    issuer: ca.cert.subject,
    notBefore,
    notAfter,
    signingKey: ca.privateKey,
    publicKey: p.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension(
        [...new Set(p.names)].map((n): x509.JsonGeneralName => ({
          type: isIP(n) ? 'ip' : 'dns',
          value: n,
        })),
      ),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { pem: pemOf(cert), fingerprint: sha256Hex(cert.rawData), notBefore, notAfter };
}

/** A fresh key and certificate for the control plane itself, PEM, for TLS options. */
export async function issueKeyAndCertificate(
  ca: CertificateAuthority,
  p: Omit<IssueParams, 'publicKey'>,
): Promise<IssuedCertificate & { keyPem: string }> {
  const keys = await generateKeyPair();
  const issued = await issueCertificate(ca, { ...p, publicKey: keys.publicKey });
  return { ...issued, keyPem: await exportPkcs8Pem(keys.privateKey) };
}
