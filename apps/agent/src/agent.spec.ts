import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentModule } from './agent.module';
import { agentConfigSchema } from './config';

describe('agent', () => {
  let app: INestApplication;
  let base: string;

  beforeAll(async () => {
    const config = agentConfigSchema.parse({ AGENT_HOSTNAME: 'hv-test-1', LOG_LEVEL: 'silent' });
    app = await NestFactory.create(AgentModule.forRoot(config), { logger: false });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });
  afterAll(() => app.close());

  it('answers /healthz with its host name', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', host: 'hv-test-1' });
  });

  it('refuses to boot with bad config and names every bad variable', () => {
    const r = spawnSync(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
      cwd: path.resolve(__dirname, '..'),
      env: {
        ...process.env,
        SWC_NODE_PROJECT: '../../tsconfig.json',
        AGENT_PORT: 'seventy',
        AGENT_HOSTNAME: 'Bad_Name',
        AGENT_STATE_DIR: 'rel',
      },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('AGENT_PORT');
    expect(r.stderr).toContain('AGENT_HOSTNAME');
    expect(r.stderr).toContain('AGENT_STATE_DIR');
  });

  it('refuses a join token without the gateway URL and the CA pin to check it against', () => {
    const r = agentConfigSchema.safeParse({ AGENT_JOIN_TOKEN: 'pjt.x' });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toEqual(
      expect.arrayContaining(['AGENT_API_URL', 'AGENT_CA_SHA256']),
    );
    const http = agentConfigSchema.safeParse({
      AGENT_JOIN_TOKEN: 'pjt.x',
      AGENT_API_URL: 'http://cp:3443',
      AGENT_CA_SHA256: 'AB:'.repeat(31) + 'AB',
    });
    expect(http.error?.issues.map((i) => i.path.join('.'))).toEqual(['AGENT_API_URL']);
  });

  it('keeps the host API closed over plain HTTP: no TLS peer, no answer', async () => {
    const res = await fetch(`${base}/v1/host/compliance`);
    expect(res.status).toBe(403);
  });
});
