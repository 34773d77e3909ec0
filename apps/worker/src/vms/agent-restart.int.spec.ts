/**
 * What an agent remembers across its own restart, over real mTLS: a real agent process
 * (AGENT_HYPERVISOR=simulated) is stopped and started again on the same state directory between
 * two identical calls.
 *
 * Proven: a reboot repeated with the same operation ID after the restart gets the first answer
 * and is not executed again. The simulated host forgets its domains when its process ends, so a
 * second execution could only answer 404; a new operation ID on the restarted agent does (the
 * control), which shows the answer came from the memo on disk and not from the host.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentVmDefinition } from '@palisade/contracts';
import { StepRefused } from '../operations/engine';
import {
  AGENT_START_BOUND_MS,
  startAgentProcess,
  type AgentProcess,
} from '../testing/agent-process';
import { controlPlaneClientTls, type ClientTls } from './agent-client';

const key = Buffer.alloc(32, 6).toString('base64');

describe('agent restart (simulated host, real process and mTLS)', () => {
  let dir: string;
  let tls: ClientTls;
  let agent: AgentProcess;
  const vmId = randomUUID();
  const volumeId = randomUUID();
  const vm: AgentVmDefinition = {
    vmId,
    tenantId: randomUUID(),
    name: `restart-${vmId.slice(0, 8)}`,
    specRevision: 1,
    vcpus: 1,
    memoryMiB: 128,
    cpu: { shares: 1024, quotaUs: -1, periodUs: 100_000 },
    blkio: { weight: 500 },
    isolation: { svirt: 'required', mcs: { c1: 21, c2: 22 } },
    console: { vnc: 'none' },
    disks: [{ id: volumeId, volumeId, bootOrder: 1, iotune: {} }],
    nics: [],
    boot: { kind: 'disk' },
    sshAuthorizedKeys: [],
  };
  const start = () => startAgentProcess({ dir, name: 'restart-host', tls });
  /** SIGTERM, then wait for the process to be gone: the next one reads what this one wrote. */
  const stop = (a: AgentProcess) =>
    new Promise<void>((resolve) => {
      if (a.proc.exitCode !== null) return resolve();
      a.proc.once('exit', () => resolve());
      a.proc.kill('SIGTERM');
    });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'palisade-restart-'));
    tls = await controlPlaneClientTls(path.join(dir, 'pki'));
    agent = await start();
  }, AGENT_START_BOUND_MS);

  afterAll(async () => {
    if (agent) await stop(agent);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(
    'a reboot repeated after an agent restart gets the first answer and is not executed again',
    async () => {
      await agent.client.ensureRunning({
        operationId: randomUUID(),
        vm,
        keys: { [volumeId]: key },
      });
      const reboot = randomUUID();
      const first = await agent.client.reboot(vmId, { operationId: reboot });
      expect(first).toMatchObject({ vmId, state: 'running' });
      const memo = path.join(agent.stateDir, 'operations', 'reboots.json');
      expect(statSync(memo).mode & 0o777).toBe(0o600);

      await stop(agent);
      agent = await start();
      // The restarted simulated host holds no domain at all.
      expect(await agent.client.get(vmId)).toBeNull();

      expect(await agent.client.reboot(vmId, { operationId: reboot })).toEqual(first);
      // The control: a reboot under a new operation ID is executed, and finds nothing to reboot.
      const executed = await agent.client.reboot(vmId, { operationId: randomUUID() }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(executed).toBeInstanceOf(StepRefused);
      expect((executed as StepRefused).code).toBe('common.not_found');
    },
    2 * AGENT_START_BOUND_MS,
  );
});
