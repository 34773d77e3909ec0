/**
 * The control plane's CA at run time: loaded (or created) at boot from PKI_DIR, plus the control
 * plane's own key and certificate, issued by that CA at every boot and kept in memory only. Agents
 * trust nothing but this CA, and answer only a client certificate of the control-plane OU.
 */
import type { webcrypto } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { AppError, CERT_OU, ErrorCode } from '@palisade/contracts';
import { API_CONFIG, type ApiConfig } from '../config';
import {
  type CertificateAuthority,
  issueCertificate,
  issueKeyAndCertificate,
  type IssuedCertificate,
  loadOrCreateCa,
} from './x509';

export interface TlsIdentity {
  key: string;
  /** Leaf then CA, so a peer that pins the CA can find it in the chain. */
  cert: string;
  ca: string;
  notAfter: Date;
}

const CONTROL_PLANE_CN = 'palisade-control-plane';

@Injectable()
export class PkiService implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger('pki');
  private authority: CertificateAuthority | null = null;
  private identity: TlsIdentity | null = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: ((id: TlsIdentity) => void)[] = [];

  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {}

  get enabled(): boolean {
    return this.config.PKI_DIR !== undefined;
  }

  async onModuleInit(): Promise<void> {
    if (!this.config.PKI_DIR) {
      this.log.warn('PKI_DIR is not set: host enrolment is off');
      return;
    }
    this.authority = await loadOrCreateCa(this.config.PKI_DIR);
    await this.refreshIdentity();
    this.log.log(
      `control-plane CA ${this.authority.fingerprint} loaded from ${this.config.PKI_DIR}`,
    );
  }

  onModuleDestroy(): void {
    clearTimeout(this.timer);
  }

  /** The CA, or a clear "enrolment is off" error when PKI_DIR is unset. */
  ca(): CertificateAuthority {
    if (!this.authority) {
      throw new AppError(ErrorCode.ENROL_DISABLED, 'PKI_DIR unset', {
        userMessage: 'Host enrolment is not configured on this control plane (PKI_DIR).',
      });
    }
    return this.authority;
  }

  /** The control plane's client and server identity, for the gateway and for calls to agents. */
  controlPlaneTls(): TlsIdentity {
    this.ca();
    return this.identity!;
  }

  onIdentityChange(fn: (id: TlsIdentity) => void): void {
    this.listeners.push(fn);
  }

  issueHostCertificate(p: {
    hostName: string;
    publicKey: webcrypto.CryptoKey;
    agentHost?: string;
  }): Promise<IssuedCertificate> {
    return issueCertificate(this.ca(), {
      publicKey: p.publicKey,
      commonName: p.hostName,
      organizationalUnit: CERT_OU.host,
      names: [p.hostName, ...(p.agentHost ? [p.agentHost] : [])],
      validityDays: this.config.HOST_CERT_DAYS,
    });
  }

  private async refreshIdentity(): Promise<void> {
    const ca = this.ca();
    const issued = await issueKeyAndCertificate(ca, {
      commonName: CONTROL_PLANE_CN,
      organizationalUnit: CERT_OU.controlPlane,
      names: this.config.AGENT_GATEWAY_NAMES,
      validityDays: this.config.HOST_CERT_DAYS,
    });
    this.identity = {
      key: issued.keyPem,
      cert: issued.pem + ca.certPem,
      ca: ca.certPem,
      notAfter: issued.notAfter,
    };
    for (const fn of this.listeners) fn(this.identity);
    // Same rule as the agents: renew once two thirds of the validity have passed.
    const lifetime = issued.notAfter.getTime() - issued.notBefore.getTime();
    this.schedule(lifetime * (2 / 3) - (Date.now() - issued.notBefore.getTime()));
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.refreshIdentity().catch((e: unknown) => {
          this.log.error({ err: e }, 'control-plane certificate renewal failed; retrying in 1 min');
          this.schedule(60_000);
        });
      },
      Math.min(Math.max(delayMs, 1000), 2 ** 31 - 1),
    );
    this.timer.unref();
  }
}
