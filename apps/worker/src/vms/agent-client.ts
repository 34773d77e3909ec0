/**
 * The worker's client for host agents: HTTPS with mTLS, presenting a control-plane client
 * certificate (agents answer nothing else) and trusting only the Palisade CA.
 *
 * The worker issues that certificate to itself at boot from the CA in PKI_DIR, the same
 * directory the API loads (docs/operations-pipeline.md): one CA, no certificate files to copy
 * around, and the key never leaves the worker's memory.
 *
 * Error contract: an agent's 4xx means retrying cannot help, so it becomes `StepRefused` with
 * the agent's stable code; a 5xx, a timeout or no connection is thrown as a plain error and the
 * engine retries with backoff. Request bodies (which may hold LUKS keys) never enter an error.
 */
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import {
  agentErrorSchema,
  CERT_OU,
  ErrorCode,
  VOLUME_TRANSFER_HEADERS,
  type AgentEnsureImageInput,
  type AgentEnsureSegmentInput,
  type AgentEnsureVmRunningInput,
  type AgentEnsureVolumeInput,
  type AgentImage,
  type AgentInventory,
  type AgentRebootVmInput,
  type AgentRemoveSegmentInput,
  type AgentResizeVolumeInput,
  type AgentSnapshotInput,
  type AgentSnapshotList,
  type AgentStorage,
  type AgentVmDetails,
  type AgentVmStatus,
  type AgentVolume,
  type ComplianceReportWire,
  type IsolationReport,
} from '@palisade/contracts';
import { issueKeyAndCertificate, loadOrCreateCa } from '@palisade/auth';
import { StepRefused } from '../operations/engine';
import { afterHostCall } from '../operations/fault-injection';

export interface ClientTls {
  key: string;
  cert: string;
  ca: string;
}

/** The worker's control-plane identity, issued from the CA in `pkiDir`. */
export async function controlPlaneClientTls(pkiDir: string, days = 30): Promise<ClientTls> {
  const ca = await loadOrCreateCa(pkiDir);
  const issued = await issueKeyAndCertificate(ca, {
    commonName: 'palisade-worker',
    organizationalUnit: CERT_OU.controlPlane,
    names: [],
    validityDays: days,
  });
  return { key: issued.keyPem, cert: issued.pem + ca.certPem, ca: ca.certPem };
}

export class AgentCallError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
    this.name = 'AgentCallError';
  }
}

const TIMEOUT_MS = 10 * 60_000;

export class AgentClient {
  constructor(
    private readonly baseUrl: string,
    private readonly tls: ClientTls,
    private readonly hostName: string,
    /** Per call; the default fits the slowest step (an image download). */
    private readonly timeoutMs = TIMEOUT_MS,
  ) {}

  private call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const url = new URL(path, this.baseUrl);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          key: this.tls.key,
          cert: this.tls.cert,
          ca: this.tls.ca,
          // The agent's certificate names the host, not necessarily the address we dial.
          checkServerIdentity: () => undefined,
          timeout: this.timeoutMs,
          headers: payload
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {},
        },
        (res) => this.settle(res, method, url, resolve, reject),
      );
      req.on('timeout', () => req.destroy(new Error(`agent ${this.hostName}: timed out`)));
      req.on('error', (e) =>
        reject(
          new AgentCallError(
            `agent ${this.hostName} ${method} ${url.pathname}: ${e.message}`,
            0,
            ErrorCode.HOST_AGENT_UNREACHABLE,
          ),
        ),
      );
      req.end(payload);
    });
  }

  /** Reads an agent's answer: 2xx resolves with its JSON, 4xx is refused (no retry helps),
   *  anything else is an `AgentCallError` the engine retries. */
  private settle<T>(
    res: IncomingMessage,
    method: string,
    url: URL,
    resolve: (v: T) => void,
    reject: (e: Error) => void,
  ): void {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('error', (e) =>
      reject(
        new AgentCallError(
          `agent ${this.hostName}: ${e.message}`,
          0,
          ErrorCode.HOST_AGENT_UNREACHABLE,
        ),
      ),
    );
    res.on('end', () => {
      const status = res.statusCode ?? 0;
      const text = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : {};
      } catch {
        json = undefined;
      }
      if (status >= 200 && status < 300) {
        afterHostCall(); // a no-op unless a crash test armed it
        return resolve(json as T);
      }
      const err = agentErrorSchema.safeParse(json);
      const code = err.success ? err.data.code : ErrorCode.AGENT_HOST_FAILED;
      const message = `agent ${this.hostName} ${method} ${url.pathname}: ${status} ${code}: ${err.success ? err.data.message : text.slice(0, 500)}`;
      if (status >= 400 && status < 500 && status !== 408 && status !== 429)
        return reject(new StepRefused(err.success ? err.data.message : message, code));
      reject(new AgentCallError(message, status, code));
    });
  }

  private tlsOptions() {
    return {
      key: this.tls.key,
      cert: this.tls.cert,
      ca: this.tls.ca,
      // The agent's certificate names the host, not necessarily the address we dial.
      checkServerIdentity: () => undefined,
      timeout: TIMEOUT_MS,
    };
  }

  /**
   * Copies a volume file from this host to `to` for a cold migration: this host's export is
   * piped into `to`'s import as it arrives (never buffered whole), both over mTLS with the
   * control-plane certificate (agents accept no other, so hosts never talk to each other).
   * The target verifies the SHA-256 this host announced before the copy appears. No key moves.
   */
  copyVolumeTo(to: AgentClient, input: { operationId: string; volumeId: string }) {
    const H = VOLUME_TRANSFER_HEADERS;
    const from = new URL(`/v1/volumes/${input.volumeId}/export`, this.baseUrl);
    const into = new URL(`/v1/volumes/${input.volumeId}/import`, to.baseUrl);
    return new Promise<AgentVolume>((resolveCopy, rejectCopy) => {
      // Once the target has answered, the rest of the source stream is of no use.
      const resolve = (v: AgentVolume) => {
        resolveCopy(v);
        src.destroy();
      };
      const reject = (e: Error) => {
        rejectCopy(e);
        src.destroy();
      };
      const unreachable = (who: AgentClient, url: URL) => (e: Error) =>
        reject(
          new AgentCallError(
            `agent ${who.hostName} ${url.pathname}: ${e.message}`,
            0,
            ErrorCode.HOST_AGENT_UNREACHABLE,
          ),
        );
      const src = request(from, { method: 'GET', ...this.tlsOptions() }, (res) => {
        if (res.statusCode !== 200) return this.settle(res, 'GET', from, resolve, reject);
        const sha256 = res.headers[H.sha256];
        const base = res.headers[H.base];
        const dst = request(
          into,
          {
            method: 'POST',
            ...to.tlsOptions(),
            headers: {
              'content-type': 'application/octet-stream',
              ...(res.headers['content-length']
                ? { 'content-length': res.headers['content-length'] }
                : {}),
              [H.operationId]: input.operationId,
              ...(typeof sha256 === 'string' ? { [H.sha256]: sha256 } : {}),
              ...(typeof base === 'string' ? { [H.base]: base } : {}),
            },
          },
          (answer) => to.settle(answer, 'POST', into, resolve, reject),
        );
        dst.on('timeout', () => dst.destroy(new Error('timed out')));
        dst.on('error', unreachable(to, into));
        // A source that breaks off mid-stream must not look like a complete copy.
        res.on('error', (e) => dst.destroy(e));
        res.on('aborted', () => dst.destroy(new Error(`export from ${this.hostName} was cut off`)));
        res.pipe(dst);
      });
      src.on('timeout', () => src.destroy(new Error('timed out')));
      src.on('error', unreachable(this, from));
      src.end();
    });
  }

  ensureImage(input: AgentEnsureImageInput) {
    return this.call<AgentImage>('POST', '/v1/images/ensure', input);
  }
  ensureVolume(input: AgentEnsureVolumeInput) {
    return this.call<AgentVolume>('POST', '/v1/volumes/ensure', input);
  }
  deleteVolume(operationId: string, volumeId: string) {
    return this.call<{ deleted: true }>('POST', '/v1/volumes/delete', { operationId, volumeId });
  }
  ensureSegment(input: AgentEnsureSegmentInput) {
    return this.call<{ bridge: string }>('POST', '/v1/segments/ensure', input);
  }
  ensureRunning(input: AgentEnsureVmRunningInput) {
    return this.call<AgentVmStatus>('POST', '/v1/vms/ensure-running', input);
  }
  /** Defines a shut-off VM without starting it (its disks changed); refused while it runs. */
  defineStopped(input: AgentEnsureVmRunningInput) {
    return this.call<AgentVmStatus>('POST', '/v1/vms/define', input);
  }
  destroy(operationId: string, vmId: string) {
    return this.call<{ destroyed: true }>('POST', `/v1/vms/${vmId}/destroy`, { operationId });
  }
  stop(operationId: string, vmId: string, force: boolean) {
    return this.call<AgentVmStatus>('POST', `/v1/vms/${vmId}/${force ? 'force-off' : 'stop'}`, {
      operationId,
    });
  }
  /** The domain, or null when the host does not know it. */
  async get(vmId: string): Promise<AgentVmDetails | null> {
    try {
      return await this.call<AgentVmDetails>('GET', `/v1/vms/${vmId}`);
    } catch (e) {
      if (e instanceof StepRefused && e.code === ErrorCode.NOT_FOUND) return null;
      throw e;
    }
  }
  isolation(vmId: string) {
    return this.call<IsolationReport>('GET', `/v1/vms/${vmId}/isolation`);
  }
  list() {
    return this.call<{ items: { vmId: string; name: string; state: string }[] }>('GET', '/v1/vms');
  }
  /** Volume IDs and secret UUIDs the host holds. */
  storage() {
    return this.call<AgentStorage>('GET', '/v1/storage');
  }
  resizeVolume(input: AgentResizeVolumeInput) {
    return this.call<AgentVolume>('POST', '/v1/volumes/resize', input);
  }
  removeSegment(input: AgentRemoveSegmentInput) {
    return this.call<{ bridge: string; removed: true }>('POST', '/v1/segments/remove', input);
  }
  /** Bridges of the tenant segments the host has. */
  listSegments() {
    return this.call<{ items: { bridge: string }[] }>('GET', '/v1/segments');
  }
  /** A cold cycle on the host (stop, start); `keys` re-sends the disks' secrets. */
  reboot(vmId: string, input: AgentRebootVmInput) {
    return this.call<AgentVmStatus>('POST', `/v1/vms/${vmId}/reboot`, input);
  }
  snapshot(vmId: string, action: 'create' | 'revert' | 'delete', input: AgentSnapshotInput) {
    return this.call<AgentSnapshotList>('POST', `/v1/vms/${vmId}/snapshots/${action}`, input);
  }
  listSnapshots(vmId: string) {
    return this.call<AgentSnapshotList>('GET', `/v1/vms/${vmId}/snapshots`);
  }
  /** What the host can enforce, from its probe (VLAN, bandwidth, sVirt, acceleration, ...). */
  compliance() {
    return this.call<ComplianceReportWire>('GET', '/v1/host/compliance');
  }
  /** Everything the host holds (domains, volume files, Palisade bridges), for the reconciler. */
  inventory() {
    return this.call<AgentInventory>('GET', '/v1/inventory');
  }
}
