/**
 * `LinuxSegments`: tenant segments on a real Linux host through iproute2 (`ip`, `bridge`),
 * optionally inside a named network namespace (`ip -n <ns>`), which is how the functional tests
 * put two "hosts" on one machine. It observes the host, asks the pure plan (`plan.ts`) what to
 * run, and runs it. This is the `networks` half of the libvirt `Hypervisor`, which takes it as a
 * dependency.
 *
 * Must never: touch a device the plan did not name, or run anything through a shell (argv only).
 */
import { execFile } from 'node:child_process';
import { AppError, ErrorCode } from '@palisade/contracts';
import type { SegmentSpec } from '../hypervisor';
import {
  parseFloodRemotes,
  parseIpLinks,
  planSegment,
  planSegmentRemoval,
  uplinkName,
  type ObservedHost,
  type SegmentStep,
} from './plan';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

/** Runs argv (no shell); rejects with the command's stderr on a non-zero exit. */
export type CommandRunner = (argv: string[]) => Promise<CommandResult>;

export const execRunner: CommandRunner = (argv) =>
  new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    execFile(cmd!, args, { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      if (err)
        reject(
          new AppError(
            ErrorCode.INTERNAL,
            `${argv.join(' ')} failed: ${stderr.trim() || err.message}`,
            {
              details: { argv, stderr: stderr.trim() },
              cause: err,
            },
          ),
        );
      else resolve({ stdout, stderr });
    });
  });

export interface LinuxSegmentsOptions {
  /** A named network namespace (`/run/netns/<name>`); the root namespace when absent. */
  netns?: string;
  run?: CommandRunner;
}

export class LinuxSegments {
  private readonly netns: string | undefined;
  private readonly run: CommandRunner;

  constructor(options: LinuxSegmentsOptions = {}) {
    this.netns = options.netns;
    this.run = options.run ?? execRunner;
  }

  /** `ip`/`bridge` argv with `-n <ns>` inserted when a namespace is set. */
  private argv(step: string[]): string[] {
    const [tool, ...rest] = step;
    return this.netns === undefined ? [tool!, ...rest] : [tool!, '-n', this.netns, ...rest];
  }

  /** What the plan needs to know: every link, and the flood list of `uplink` if it exists. */
  async observe(uplink?: string): Promise<ObservedHost> {
    const links = parseIpLinks(
      (await this.run(this.argv(['ip', '-d', '-j', 'link', 'show']))).stdout,
    );
    const vx = uplink === undefined ? undefined : links.find((l) => l.name === uplink);
    const floodRemotes =
      vx?.kind === 'vxlan'
        ? parseFloodRemotes(
            (await this.run(this.argv(['bridge', '-j', 'fdb', 'show', 'dev', uplink!]))).stdout,
          )
        : [];
    return { links, floodRemotes };
  }

  /** Creates or converges the segment; returns the steps it ran (none when already converged). */
  async ensureSegment(spec: SegmentSpec): Promise<SegmentStep[]> {
    const steps = planSegment(spec, await this.observe(uplinkName(spec)));
    await this.apply(steps);
    return steps;
  }

  /** Removes the uplink and the bridge; nothing when absent; refuses while a tap is attached. */
  async removeSegment(bridge: string): Promise<SegmentStep[]> {
    const steps = planSegmentRemoval(bridge, await this.observe());
    await this.apply(steps);
    return steps;
  }

  /** Every Linux bridge in the namespace (Palisade's and others'); nothing is changed. */
  async listBridges(): Promise<string[]> {
    return (await this.observe()).links.filter((l) => l.kind === 'bridge').map((l) => l.name);
  }

  private async apply(steps: SegmentStep[]): Promise<void> {
    for (const step of steps) {
      try {
        await this.run(this.argv(step.argv));
      } catch (e) {
        throw new AppError(
          ErrorCode.INTERNAL,
          `segment step "${step.why}" failed: ${(e as Error).message}`,
          {
            details: { argv: step.argv, netns: this.netns ?? null },
            cause: e,
          },
        );
      }
    }
  }
}

/**
 * Whether this kernel can create 802.1Q VLAN devices: tries `ip link add ... type vlan` on a
 * throwaway veth inside `netns` (so the probe never touches the host's own links) and reads the
 * kernel's answer. `CONFIG_VLAN_8021Q` off answers "Unknown device type".
 */
export async function probeVlanSupport(
  netns: string,
  run: CommandRunner = execRunner,
): Promise<{ supported: true } | { supported: false; reason: string }> {
  const ip = (...a: string[]) => run(['ip', '-n', netns, ...a]);
  // veth, not dummy: this kernel has no dummy driver either (measured), but veth is a given here.
  await ip('link', 'add', 'palvprobe0', 'type', 'veth', 'peer', 'name', 'palvprobe1');
  try {
    await ip(
      'link',
      'add',
      'link',
      'palvprobe0',
      'name',
      'palvprobe0.7',
      'type',
      'vlan',
      'id',
      '7',
    );
    return { supported: true };
  } catch (e) {
    return {
      supported: false,
      reason: `ip link add ... type vlan failed: ${(e as Error).message}`,
    };
  } finally {
    await ip('link', 'del', 'palvprobe0').catch(() => undefined);
  }
}
