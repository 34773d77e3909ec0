/** The host agent's configuration, parsed once at boot; a bad variable stops the process. */
import { hostname } from 'node:os';
import { z } from 'zod';
import { logSettings, parseEnv } from '@palisade/contracts';

export const agentConfigSchema = z.object({
  AGENT_HOST: z.string().min(1).default('127.0.0.1'),
  AGENT_PORT: z.coerce.number().int().min(1).max(65535).default(7443),
  /** The name this host is enrolled under; it ends up in host-side resource names. */
  AGENT_HOSTNAME: z
    .string()
    .regex(
      /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
      'must be a DNS label: lowercase letters, digits and dashes',
    )
    .default(hostname().toLowerCase().split('.')[0] ?? 'host'),
  LIBVIRT_URI: z
    .string()
    .regex(/^[a-z+]+:\/\//, 'must be a libvirt URI such as qemu:///system')
    .default('qemu:///system'),
  /** Where volumes, seeds and images live on this host. */
  AGENT_STATE_DIR: z
    .string()
    .startsWith('/', 'must be an absolute path')
    .default('/var/lib/palisade'),
  /** A small kernel and initrd (Palisade Tiny) the probe boots to test acceleration for real. */
  AGENT_PROBE_KERNEL: z.string().startsWith('/', 'must be an absolute path').optional(),
  AGENT_PROBE_INITRD: z.string().startsWith('/', 'must be an absolute path').optional(),
  /** An operator's explicit choice to run VMs that need sVirt on a host that cannot enforce it. */
  ALLOW_WEAKER_ISOLATION: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  ...logSettings,
});

export type AgentConfig = z.infer<typeof agentConfigSchema>;

export function loadAgentConfig(
  env: Record<string, string | undefined> = process.env,
): Readonly<AgentConfig> {
  const parsed = parseEnv(agentConfigSchema, env);
  if (!parsed.ok) {
    process.stderr.write(
      `palisade-agent: invalid configuration:\n${parsed.problems.map((p) => `  - ${p}`).join('\n')}\n`,
    );
    process.exit(1);
  }
  return parsed.value;
}

export const AGENT_CONFIG = Symbol('AGENT_CONFIG');
