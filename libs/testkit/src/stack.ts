/**
 * Reads .data/<profile>/stack.json, written by `npm run stack -- up`: how tests and tools reach
 * the real services of a profile (tools/stack writes it; this is its typed reader). Tests use the
 * `test` profile; nothing here ever starts, stops or writes anything.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const stackInfoSchema = z.object({
  profile: z.enum(['dev', 'test']),
  postgres: z.object({
    host: z.string(),
    port: z.number().int(),
    /** Optional only for files written before it was added. */
    database: z.string().optional(),
    /** palisade_owner: owns database `palisade`, runs the migrations. */
    ownerUrl: z.string(),
    /** palisade_app: the runtime role; not the owner, NOBYPASSRLS. */
    appUrl: z.string(),
    /** The cluster's superuser, on database `postgres`. */
    adminUrl: z.string(),
  }),
  redis: z.object({ url: z.string() }),
  keycloak: z.object({
    url: z.string(),
    issuer: z.string(),
    /** Health and metrics (`/health/ready`). Optional only for files written before it was added. */
    managementUrl: z.string().optional(),
    realm: z.string(),
    /** The master realm's bootstrap admin. */
    adminUsername: z.string(),
    adminPassword: z.string(),
  }),
  libvirt: z.object({
    available: z.boolean(),
    uri: z.string().optional(),
    reason: z.string().optional(),
    /** Dev profile only: its own libvirtd runs in this network namespace (tools/stack dev-host). */
    netns: z.string().optional(),
    /** Dev profile only: the VXLAN underlay inside that namespace. */
    underlay: z.object({ dev: z.string(), ip: z.string() }).optional(),
    /** Dev profile only: the kernel has sfq, so libvirt can shape `<bandwidth>`. */
    bandwidth: z.boolean().optional(),
  }),
});

export type StackInfo = z.infer<typeof stackInfoSchema>;
export type StackProfile = StackInfo['profile'];

/** The checkout's root: the nearest folder above `from` whose package.json is named "palisade". */
export function repoRoot(from = __dirname): string {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (
      existsSync(pkg) &&
      (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'palisade'
    )
      return dir;
  }
  throw new Error(`cannot find the Palisade repository root above ${from}`);
}

function defaultProfile(): StackProfile {
  const p = process.env.PALISADE_PROFILE;
  if (p === undefined || p === '') return 'test';
  if (p !== 'dev' && p !== 'test')
    throw new Error(`PALISADE_PROFILE must be dev or test (got ${p})`);
  return p;
}

export function loadStack(profile: StackProfile = defaultProfile(), root = repoRoot()): StackInfo {
  const file = path.join(root, '.data', profile, 'stack.json');
  if (!existsSync(file)) {
    throw new Error(
      `${file} is missing: start the services first with 'npm run stack -- up --profile ${profile}' (npm test does this)`,
    );
  }
  const parsed = stackInfoSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success)
    throw new Error(
      `${file} does not match the stack tool's schema (rerun 'npm run stack -- up --profile ${profile}'): ${z.prettifyError(parsed.error)}`,
    );
  return parsed.data;
}
