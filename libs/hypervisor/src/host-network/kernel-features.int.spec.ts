// The kernel feature probe against the real kernel. Needs root and iproute2 (ip, tc). Proves
// that the probe's answer is the kernel's (each verdict is checked against an attempt this test
// makes itself, in a namespace of its own), and that it leaves no namespace or link behind in
// the root namespace.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { probeKernelNetFeatures } from './kernel-features';

const exec = promisify(execFile);
const out = async (...argv: string[]) => (await exec(argv[0]!, argv.slice(1))).stdout;
const ok = (...argv: string[]) =>
  exec(argv[0]!, argv.slice(1)).then(
    () => true,
    () => false,
  );

/** The test's own attempt at one mechanism, in a namespace it creates and deletes. */
async function kernelAccepts(setup: (ns: string) => Promise<boolean>): Promise<boolean> {
  const ns = `paltest-${randomBytes(4).toString('hex')}`;
  await exec('ip', ['netns', 'add', ns]);
  try {
    await exec('ip', ['-n', ns, 'link', 'add', 't0', 'type', 'veth', 'peer', 'name', 't1']);
    return await setup(ns);
  } finally {
    await exec('ip', ['netns', 'del', ns]);
  }
}

describe('probeKernelNetFeatures (real kernel)', () => {
  it('answers what the kernel answers, and leaves no namespace or root link behind', async () => {
    const rootLinksBefore = await out('ip', '-o', 'link', 'show');
    const nsBefore = await out('ip', 'netns', 'list');
    const name = `palprobe-t${randomBytes(3).toString('hex')}`;

    const f = await probeKernelNetFeatures({ netns: name });

    expect(await out('ip', 'netns', 'list')).toBe(nsBefore);
    expect(await out('ip', 'netns', 'list')).not.toContain(name);
    // Only names are compared: counters and states of the root links may change meanwhile.
    const names = (s: string) => s.split('\n').map((l) => l.split(':')[1]?.trim());
    expect(names(await out('ip', '-o', 'link', 'show'))).toEqual(names(rootLinksBefore));

    const vlan = await kernelAccepts((ns) =>
      ok('ip', '-n', ns, 'link', 'add', 'link', 't0', 'name', 't0.9', 'type', 'vlan', 'id', '9'),
    );
    expect(f.vlan8021q.supported).toBe(vlan);
    if (!f.vlan8021q.supported) expect(f.vlan8021q.reason).toMatch(/Unknown device type/);

    const dummy = await kernelAccepts((ns) =>
      ok('ip', '-n', ns, 'link', 'add', 'd0', 'type', 'dummy'),
    );
    expect(f.dummy.supported).toBe(dummy);

    const sfq = await kernelAccepts(
      async (ns) =>
        (await ok('tc', '-n', ns, 'qdisc', 'add', 'dev', 't0', 'root', 'handle', '1:', 'htb')) &&
        (await ok(
          'tc',
          '-n',
          ns,
          'class',
          'add',
          'dev',
          't0',
          'parent',
          '1:',
          'classid',
          '1:1',
          'htb',
          'rate',
          '1mbit',
        )) &&
        ok('tc', '-n', ns, 'qdisc', 'add', 'dev', 't0', 'parent', '1:1', 'handle', '2:', 'sfq'),
    );
    expect(f.bandwidth.missing.includes('sfq')).toBe(!sfq);
    expect(f.bandwidth.supported).toBe(f.bandwidth.missing.length === 0);
    if (!f.bandwidth.supported) {
      expect(f.bandwidth.reason).toMatch(/^kernel lacks /);
      if (!sfq) expect(f.bandwidth.reason).toContain('sfq: Specified qdisc kind is unknown');
    }
  });

  it('removes its namespace even when a step cannot even start', async () => {
    const name = `palprobe-t${randomBytes(3).toString('hex')}`;
    // A runner that lets only the namespace commands through: the veth step fails.
    const run = async (argv: string[]) => {
      if (argv[1] !== 'netns') throw new Error('refused by the test');
      return exec(argv[0]!, argv.slice(1));
    };
    await expect(probeKernelNetFeatures({ netns: name, run })).rejects.toThrow(/refused/);
    expect(await out('ip', 'netns', 'list')).not.toContain(name);
  });
});
