/**
 * `npm run host:join-token -w @palisade/api -- <host name> [ttl minutes]`: creates a one-time
 * join token without going through Keycloak, for the very first host (before anyone can log in
 * to the admin console) and for `npm run dev`. It needs what the API needs: DATABASE_URL and
 * PKI_DIR (the CA is created there if absent). Prints the token as JSON on stdout, once.
 */
import os from 'node:os';
import { z } from 'zod';
import { createJoinTokenInput, parseEnv } from '@palisade/contracts';
import { createDb } from '@palisade/db';
import { createHostJoinToken } from '../hosts/join-tokens';
import { loadOrCreateCa } from '../pki/x509';

const envSchema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  PKI_DIR: z.string().startsWith('/', 'must be an absolute path'),
});

async function main(): Promise<void> {
  const env = parseEnv(envSchema, process.env);
  if (!env.ok) throw new Error(`invalid configuration:\n  ${env.problems.join('\n  ')}`);
  const [hostName, ttl] = process.argv.slice(2);
  const input = createJoinTokenInput.safeParse({
    hostName,
    ...(ttl ? { ttlMinutes: Number(ttl) } : {}),
  });
  if (!input.success) {
    throw new Error(
      input.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') +
        '\nusage: host:join-token <host name> [ttl minutes]',
    );
  }
  const ca = await loadOrCreateCa(env.value.PKI_DIR);
  const db = createDb(env.value.DATABASE_URL, { max: 1 });
  try {
    const actor = `cli:${os.userInfo().username}@${os.hostname()}`;
    const token = await createHostJoinToken(db, input.data, {
      caFingerprint: ca.fingerprint,
      createdBy: actor,
      auditFor: (hostId, details) => ({
        tenantId: null,
        actorType: 'system',
        actorId: actor,
        action: 'host.join_token.create',
        targetType: 'host',
        targetId: hostId,
        outcome: 'success',
        details,
      }),
    });
    process.stdout.write(`${JSON.stringify(token)}\n`);
  } finally {
    await db.$client.end();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`host:join-token: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
