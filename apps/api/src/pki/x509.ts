/**
 * The control plane's CA moved to @palisade/auth (x509.ts) so the worker can issue itself the
 * control-plane client certificate it calls agents with. Re-exported here so the API's imports
 * (and parallel branches touching them) stay as they are.
 */
export {
  fingerprintOfPem,
  generateKeyPair,
  issueCertificate,
  issueKeyAndCertificate,
  loadOrCreateCa,
  publicKeyOfCsr,
  sha256Hex,
  type CertificateAuthority,
  type IssuedCertificate,
  type IssueParams,
} from '@palisade/auth';
