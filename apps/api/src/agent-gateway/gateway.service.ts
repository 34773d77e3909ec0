/**
 * The agent gateway: the HTTPS listener agents talk to, apart from the browser-facing API because
 * its trust is different. Its server certificate chains to the Palisade CA (which agents pin), and
 * it asks every client for a certificate without requiring one: enrolment is public on purpose
 * (the join token is the credential), renewal needs the host's current certificate.
 *
 *   POST /agent/v1/enrol   { token, csr, agentUrl } -> HostCertificate
 *   POST /agent/v1/renew   { csr } over mTLS          -> HostCertificate
 *   POST /agent/v1/heartbeat  inventory over mTLS     -> HeartbeatResponse   (host-reports.ts)
 *   POST /agent/v1/events     event batch over mTLS   -> EventBatchResponse
 *
 * Errors leave as `{ code, message, requestId }` through the one error table, like REST.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { z } from 'zod';
import {
  AppError,
  enrolRequestSchema,
  ErrorCode,
  eventBatchSchema,
  heartbeatRequestSchema,
  isAppError,
  renewRequestSchema,
} from '@palisade/contracts';
import { API_CONFIG, type ApiConfig } from '../config';
import { DatabaseService } from '../database/database.service';
import { errorBody, mappingFor } from '../errors/error-map';
import { PkiService, type TlsIdentity } from '../pki/pki.service';
import { enrolHost, type GatewayRequestContext, recordFailedEnrolment } from './enrol';
import { FailureLimiter } from './failure-limiter';
import { recordHostEvents, recordHostHeartbeat } from './host-reports';
import { hostCertificateOf, renewHostCertificate, type ClientCertificate } from './renew';

const MAX_BODY = 64 * 1024;
/** Heartbeats and event batches list domains: up to MAX_REPORTED_DOMAINS of them. */
const MAX_REPORT_BODY = 1024 * 1024;
const TOKEN_FAILURES = new Set<string>([
  ErrorCode.ENROL_TOKEN_UNKNOWN,
  ErrorCode.ENROL_TOKEN_EXPIRED,
  ErrorCode.ENROL_TOKEN_USED,
]);

@Injectable()
export class AgentGatewayService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('agent-gateway');
  private server: Server | null = null;
  /** 10 failed enrolments per source address per 15 minutes. */
  private readonly limiter = new FailureLimiter(10, 15 * 60_000);

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly pki: PkiService,
    private readonly database: DatabaseService,
  ) {}

  /** The gateway's base URL once listening (for tests and logs), else null. */
  url(): string | null {
    const addr = this.server?.address() as AddressInfo | null | undefined;
    return addr ? `https://${this.config.AGENT_GATEWAY_HOST}:${addr.port}` : null;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.pki.enabled) return;
    const server = createServer(
      {
        ...tlsOptions(this.pki.controlPlaneTls()),
        requestCert: true,
        // Enrolling hosts have no certificate yet; renew() checks `authorized` itself.
        rejectUnauthorized: false,
        minVersion: 'TLSv1.2',
      },
      (req, res) => void this.handle(req, res),
    );
    // Agents send small JSON bodies; a client that dribbles one is cut off.
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    this.pki.onIdentityChange((id) => server.setSecureContext(tlsOptions(id)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.AGENT_GATEWAY_PORT, this.config.AGENT_GATEWAY_HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.log.log(`agent gateway listening on ${this.url()}`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const ctx: GatewayRequestContext = {
      requestId: randomUUID(),
      sourceIp: req.socket.remoteAddress,
    };
    res.setHeader('x-request-id', ctx.requestId);
    const deps = { db: this.database.db, pki: this.pki };
    const path = (req.url ?? '').split('?')[0];
    try {
      if (req.method === 'POST' && path === '/agent/v1/enrol') {
        const ip = ctx.sourceIp ?? 'unknown';
        if (this.limiter.blocked(ip)) {
          throw new AppError(ErrorCode.RATE_LIMITED, `enrolment failures from ${ip}`, {
            userMessage: 'Too many failed enrolments from this address; wait and try again.',
          });
        }
        const input = parse(enrolRequestSchema, await readJson(req));
        try {
          return send(res, 200, await enrolHost(deps, input, ctx));
        } catch (e) {
          if (isAppError(e) && TOKEN_FAILURES.has(e.code)) {
            this.limiter.fail(ip);
            await recordFailedEnrolment(deps.db, input.token, e, ctx).catch((err: unknown) =>
              this.log.error({ err }, 'could not audit a refused enrolment'),
            );
          }
          throw e;
        }
      }
      if (req.method === 'POST' && path === '/agent/v1/renew') {
        const input = parse(renewRequestSchema, await readJson(req));
        return send(res, 200, await renewHostCertificate(deps, clientOf(req), input, ctx));
      }
      if (req.method === 'POST' && path === '/agent/v1/heartbeat') {
        const client = clientOf(req);
        hostCertificateOf(client); // a stranger is refused before its (large) body is read
        const input = parse(heartbeatRequestSchema, await readJson(req, MAX_REPORT_BODY));
        return send(res, 200, await recordHostHeartbeat(deps, client, input, ctx, this.log));
      }
      if (req.method === 'POST' && path === '/agent/v1/events') {
        const client = clientOf(req);
        hostCertificateOf(client); // a stranger is refused before its (large) body is read
        const input = parse(eventBatchSchema, await readJson(req, MAX_REPORT_BODY));
        return send(res, 200, await recordHostEvents(deps, client, input, ctx, this.log));
      }
      throw new AppError(ErrorCode.NOT_FOUND, `${req.method} ${path}`, {
        userMessage: `No route ${req.method} ${path} on the agent gateway.`,
      });
    } catch (e) {
      const error = isAppError(e)
        ? e
        : new AppError(ErrorCode.INTERNAL, 'agent gateway request failed', { cause: e });
      if (error.code === ErrorCode.INTERNAL)
        this.log.error({ err: e }, 'agent gateway request failed');
      else
        this.log.warn(
          `${req.method} ${path} from ${ctx.sourceIp}: ${error.code}: ${error.message}`,
        );
      send(res, mappingFor(error).http, errorBody(error, ctx.requestId));
    }
  }
}

/** The client certificate as the TLS layer judged it (the gateway does not require one). */
function clientOf(req: IncomingMessage): ClientCertificate {
  const socket = req.socket as TLSSocket;
  const peer = socket.getPeerCertificate();
  return {
    authorized: socket.authorized,
    authorizationError: socket.authorizationError?.toString(),
    peer: peer && Object.keys(peer).length > 0 ? peer : null,
  };
}

function tlsOptions(id: TlsIdentity) {
  return { key: id.key, cert: id.cert, ca: id.ca };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage, max = MAX_BODY): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      throw new AppError(ErrorCode.PAYLOAD_TOO_LARGE, `body over ${max} bytes`);
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw new AppError(ErrorCode.VALIDATION_FAILED, 'body is not JSON', {
      userMessage: 'body: must be a JSON object',
      cause: e,
    });
  }
}

/** Validates a body, naming every bad field, like the tRPC and REST edges do. */
function parse<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const fields = r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  throw new AppError(ErrorCode.VALIDATION_FAILED, 'invalid agent gateway request', {
    userMessage: fields.map((f) => `${f.path || 'body'}: ${f.message}`).join('; '),
    details: { fields },
  });
}
