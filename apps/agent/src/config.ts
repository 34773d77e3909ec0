/**
 * The host agent's configuration, parsed once at boot; a bad variable stops the process. The
 * agent's key, certificate and the Palisade CA live under AGENT_STATE_DIR/pki (key at 0600).
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { logSettings, parseEnv, sha256FingerprintSchema } from '@palisade/contracts';

export const agentConfigSchema = z
  .object({
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
    /** The control plane's agent gateway, e.g. https://cp.example:3443. */
    AGENT_API_URL: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }).optional(),
    /** SECRET: the one-time join token from `admin.hosts.createJoinToken`; needed only until enrolled. */
    AGENT_JOIN_TOKEN: z.string().min(1).optional(),
    /** SHA-256 of the Palisade CA certificate, given with the token: the gateway must prove it. */
    AGENT_CA_SHA256: sha256FingerprintSchema.optional(),
    /** Where the control plane reaches this agent; defaults to https://<AGENT_HOST>:<AGENT_PORT>. */
    AGENT_ADVERTISE_URL: z
      .url({ protocol: /^https$/, error: 'must be an https:// URL' })
      .optional(),
    /** How often the agent sends a heartbeat with its inventory to AGENT_API_URL. Keep it well
     *  under the control plane's HOST_HEARTBEAT_TIMEOUT_MS (default 60 s). */
    AGENT_HEARTBEAT_SECONDS: z.coerce.number().int().min(1).max(3600).default(15),
    /** Most lifecycle events kept while the control plane is away; then the oldest are dropped
     *  and the next batch carries the full domain list instead. */
    AGENT_EVENT_QUEUE_SIZE: z.coerce.number().int().min(10).max(1_000_000).default(10_000),
    /** `simulated`: an in-memory host (SimulatedHypervisor) for fleet and workflow tests. */
    AGENT_HYPERVISOR: z.enum(['libvirt', 'simulated']).default('libvirt'),
    /** The MAC driver a simulated host claims to enforce (libvirt hosts are probed). */
    AGENT_SIMULATED_SECURITY: z.enum(['selinux', 'apparmor', 'none']).default('selinux'),
    /** A simulated host that already holds domains at boot (ones Palisade did not define, say):
     *  an absolute path to JSON `{"domains":[{"xml":"<domain…>","start":true}]}`. Tests of the
     *  reconciler's quarantine use it; libvirt hosts ignore it. */
    AGENT_SIMULATED_PRELOAD: z.string().startsWith('/', 'must be an absolute path').optional(),
    /** Tenant segments: the VXLAN underlay (device and this host's address on it), the VLAN trunk. */
    AGENT_UNDERLAY_DEV: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,15}$/)
      .default('eth0'),
    AGENT_UNDERLAY_IP: z.ipv4().default('127.0.0.1'),
    AGENT_VXLAN_PORT: z.coerce.number().int().min(1).max(65535).default(4789),
    /** The other hosts' VTEPs (underlay IPv4 addresses, comma-separated) every VXLAN segment
     *  floods broadcast and unknown traffic to (head-end replication). A static list until the
     *  control plane sends each segment's VTEPs; empty means a segment stays on this host. */
    AGENT_VXLAN_REMOTES: z
      .string()
      .default('')
      .transform((s) =>
        s
          .split(',')
          .map((a) => a.trim())
          .filter((a) => a !== ''),
      )
      .pipe(z.array(z.ipv4({ error: 'must be comma-separated IPv4 addresses' }))),
    AGENT_TRUNK_DEV: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,15}$/)
      .default('eth1'),
    /** Run segment commands in this network namespace (`ip -n`): the functional tests' hosts. */
    AGENT_NETNS: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .optional(),
    /** PBKDF2 time per LUKS open (QEMU default 2000 ms); the keys are random, not passwords. */
    AGENT_LUKS_ITER_MS: z.coerce.number().int().min(10).max(10_000).optional(),
    /**
     * The operator's override of the bandwidth probe. Unset (the default): the agent leaves
     * interface `<bandwidth>` out exactly when its kernel probe finds the host cannot shape it
     * (no sfq qdisc, say), and each such VM lists the weakening. `true`: always leave it out.
     * `false`: always write it, whatever the probe says (libvirt then fails the start where the
     * kernel cannot build it).
     */
    AGENT_NO_BANDWIDTH: z
      .enum(['true', 'false'])
      .optional()
      .transform((v) => (v === undefined ? undefined : v === 'true')),
    /** How long `stop` waits for the guest to power off before pulling the plug. */
    AGENT_STOP_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(60_000),
    /** The largest image `images/ensure` downloads from a `sourceUrl` (default 20 GiB). */
    AGENT_IMAGE_FETCH_MAX_BYTES: z.coerce
      .number()
      .int()
      .min(1)
      .default(20 * 2 ** 30),
    ...logSettings,
  })
  .superRefine((c, ctx) => {
    if (c.AGENT_JOIN_TOKEN === undefined) return;
    // Never send the token to a gateway whose CA is not the one the operator named.
    if (!c.AGENT_API_URL)
      ctx.addIssue({
        code: 'custom',
        path: ['AGENT_API_URL'],
        message: 'is required with AGENT_JOIN_TOKEN',
      });
    if (!c.AGENT_CA_SHA256)
      ctx.addIssue({
        code: 'custom',
        path: ['AGENT_CA_SHA256'],
        message: 'is required with AGENT_JOIN_TOKEN',
      });
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
