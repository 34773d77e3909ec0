/**
 * A real agent process for API integration tests, and the small HTTPS and CSR helpers they use
 * to talk to it and to the agent gateway. Shared by the enrolment and host lifecycle tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:https';
import { createServer } from 'node:net';
import path from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { generateKeyPair } from '../pki/x509';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const agentDir = path.resolve(__dirname, '../../../agent');

export async function csrPem(cn: string): Promise<string> {
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${cn}`,
    keys,
    signingAlgorithm: ALG,
  });
  return csr.toString('pem');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface HttpsResult {
  status?: number;
  body?: unknown;
  /** Set when no HTTP answer came back: the TLS layer refused. */
  tlsError?: string;
}

export function httpsCall(
  url: string,
  opts: { method?: string; body?: unknown; ca: string; key?: string; cert?: string },
): Promise<HttpsResult> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: opts.method ?? 'GET',
        headers: opts.body ? { 'content-type': 'application/json' } : {},
        ca: opts.ca,
        key: opts.key,
        cert: opts.cert,
        agent: false,
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text || 'null') }));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ tlsError: e.code ?? e.message }));
    req.end(opts.body ? JSON.stringify(opts.body) : undefined);
  });
}

export interface AgentProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code, or with 'listening' once the agent serves. */
  ready: Promise<number | 'listening'>;
  /** Resolves once the agent's output (from now on) contains `text`; rejects if it exits. */
  until: (text: string) => Promise<void>;
}

export function startAgent(env: Record<string, string>): AgentProcess {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: agentDir,
    env: { ...process.env, SWC_NODE_PROJECT: '../../tsconfig.json', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const ready = new Promise<number | 'listening'>((resolve) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('listening on https://')) resolve('listening');
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => resolve(code ?? 1));
  });
  const until = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const from = out.length;
      const onData = () => {
        if (out.indexOf(text, from) >= 0) {
          child.stdout!.off('data', onData);
          child.stderr!.off('data', onData);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', () => reject(new Error(`agent exited before "${text}":\n${out}`)));
    });
  return { child, output: () => out, ready, until };
}
