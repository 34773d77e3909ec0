/**
 * Palisade host agent entry point. It must never reach the control plane's database: it knows the
 * control plane only through @palisade/contracts. It serves its API over HTTPS with mTLS only:
 * first it gets a certificate (enrolment with a join token, or the one stored from before), then
 * it listens trusting only the Palisade CA, and renews its certificate before it expires.
 */
import 'reflect-metadata';
import type { Server } from 'node:https';
import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AgentModule } from './agent.module';
import type { Hypervisor } from '@palisade/hypervisor';
import { loadAgentConfig } from './config';
import { assessCompliance } from './host/compliance';
import { HostService } from './host/host.service';
import { ensureIdentity, renewIdentity, serverTlsOptions } from './pki/enrolment';
import { postJson } from './pki/gateway-client';
import { RenewalScheduler } from './pki/renewal';
import { EventQueue } from './reports/event-queue';
import { inventoryOf } from './reports/inventory';
import { HYPERVISOR } from './ops/hypervisor.provider';
import { HostReporter } from './reports/reporter';

/** Heartbeats reuse a probe up to this old: a probe boots test guests. */
const HEARTBEAT_PROBE_MAX_AGE_MS = 10 * 60_000;

async function main(): Promise<void> {
  const config = loadAgentConfig();
  const boot = new NestLogger('enrolment');
  let identity = await ensureIdentity(config, (m) => boot.log(m));
  const app = await NestFactory.create(AgentModule.forRoot(config), {
    bufferLogs: true,
    httpsOptions: serverTlsOptions(identity),
  });
  const log = app.get(Logger);
  app.useLogger(log);
  // Not SIGHUP (Nest's default list has it): SIGHUP means "renew the certificate now" here.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  // A volume import (cold migration) is one request as long as the disk: Node's default 5-minute
  // requestTimeout would cut a large copy off. Only control-plane certificates get this far
  // (mTLS), and headersTimeout still bounds a client that never finishes its headers.
  (app.getHttpServer() as Server).requestTimeout = 0;
  await app.listen(config.AGENT_PORT, config.AGENT_HOST);
  log.log(
    `palisade-agent ${config.AGENT_HOSTNAME} listening on https://${config.AGENT_HOST}:${config.AGENT_PORT} (mTLS); certificate valid until ${identity.notAfter.toISOString()}`,
  );

  if (!config.AGENT_API_URL) {
    log.warn('AGENT_API_URL is not set: the certificate will not be renewed');
    return;
  }
  const server = app.getHttpServer() as Server;
  const renewal = new RenewalScheduler(
    async () => {
      identity = await renewIdentity(config, identity);
      // New handshakes use the new certificate; open connections finish on the old one.
      server.setSecureContext(serverTlsOptions(identity));
      log.log(`certificate renewed; valid until ${identity.notAfter.toISOString()}`);
      return identity;
    },
    (e, retryInMs) =>
      log.error(
        `certificate renewal failed, retrying in ${Math.round(retryInMs / 1000)} s: ${e instanceof Error ? e.message : String(e)}`,
      ),
  );
  renewal.start(identity);
  // `systemctl reload palisade-agent`: rotate the key and certificate now.
  process.on('SIGHUP', () => {
    log.log('SIGHUP: renewing the certificate now');
    renewal.renewNow();
  });
  process.once('SIGTERM', () => renewal.stop());

  const hostService = app.get(HostService);
  const gatewayUrl = config.AGENT_API_URL.replace(/\/+$/, '');
  const reporter = new HostReporter({
    // The same host the operations act on (libvirt, or the simulation), so its events and
    // domain list are the truth the reports carry.
    hypervisor: app.get<Hypervisor>(HYPERVISOR),
    queue: app.get(EventQueue),
    inventory: async () => {
      const probe = await hostService.probe(HEARTBEAT_PROBE_MAX_AGE_MS);
      return inventoryOf(probe, assessCompliance(probe));
    },
    // The identity at the time of the call: renewal swaps it.
    send: (path, body) =>
      postJson(`${gatewayUrl}${path}`, body, {
        ca: identity.caPem,
        key: identity.keyPem,
        cert: identity.certPem,
      }),
    log: { log: (m) => log.log(m), warn: (m) => log.warn(m) },
    heartbeatMs: config.AGENT_HEARTBEAT_SECONDS * 1000,
  });
  reporter.start();
  process.once('SIGTERM', () => reporter.stop());
}

main().catch((e: unknown) => {
  process.stderr.write(
    `palisade-agent: failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(1);
});
