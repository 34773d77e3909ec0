/**
 * Reads .data/<profile>/stack.json, written by `npm run stack -- up`: how tests reach the real
 * services of a profile. Tests use the `test` profile, never `dev`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const stackInfoSchema = z.object({
  profile: z.enum(['dev', 'test']),
  postgres: z.object({
    host: z.string(),
    port: z.number(),
    ownerUrl: z.string(),
    appUrl: z.string(),
    adminUrl: z.string(),
  }),
  redis: z.object({ url: z.string() }),
  keycloak: z.object({
    url: z.string(),
    issuer: z.string(),
    realm: z.string(),
    adminUsername: z.string(),
    adminPassword: z.string(),
  }),
  libvirt: z.object({
    available: z.boolean(),
    uri: z.string().optional(),
    reason: z.string().optional(),
  }),
});

export type StackInfo = z.infer<typeof stackInfoSchema>;

export function repoRoot(from = __dirname): string {
  let dir = from;
  while (dir !== path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (
      existsSync(pkg) &&
      (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'palisade'
    )
      return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the Palisade repository root');
}

export function loadStack(profile: 'dev' | 'test' = 'test'): StackInfo {
  const file = path.join(repoRoot(), '.data', profile, 'stack.json');
  if (!existsSync(file)) {
    throw new Error(
      `${file} is missing: start the services first with 'npm run stack -- up --profile ${profile}' (npm test does this)`,
    );
  }
  return stackInfoSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}
