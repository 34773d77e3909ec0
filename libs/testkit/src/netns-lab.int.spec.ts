// The namespace lab for real: hosts joined only by their underlay (nothing in the root
// namespace), daemons in the namespaces on their own sockets, and the sweep that cleans up after
// a run that was killed before its afterAll. Needs root, iproute2, libvirt and busybox.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createNetnsLab, LAB_ROOT, sweepStaleLabs, type NetnsLab } from './netns-lab';

const exec = promisify(execFile);
const netnsList = async () => (await exec('ip', ['netns', 'list'], { encoding: 'utf8' })).stdout;
const running = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

const labs: NetnsLab[] = [];
afterAll(async () => {
  for (const lab of labs) await lab.dispose();
}, 120_000);

// Run by a separate node process (through tsx), which is then killed without cleaning up. Named
// or default: tsx loads this CommonJS-typed .ts either way, depending on how it is run.
const CHILD = (labModule: string) => `const mod = await import(${JSON.stringify(labModule)});
const createNetnsLab = mod.createNetnsLab ?? mod.default.createNetnsLab;
const lab = await createNetnsLab({ libvirt: true });
console.log(JSON.stringify({ prefix: lab.prefix, dir: lab.dir, hosts: lab.hosts }));
setInterval(() => undefined, 1000);
`;

describe('createNetnsLab', () => {
  it('joins two host namespaces by an underlay the root namespace does not have', async () => {
    const lab = await createNetnsLab({ libvirt: false });
    labs.push(lab);
    const [h1, h2] = lab.hosts;
    expect(lab.prefix).toMatch(/^pal[0-9a-f]{6}$/);
    expect(h1!.netns).toBe(`${lab.prefix}-h1`);
    const { stdout } = await exec(
      'ip',
      ['netns', 'exec', h1!.netns, 'busybox', 'ping', '-c', '1', '-W', '5', h2!.underlayIp],
      { encoding: 'utf8' },
    );
    expect(stdout).toMatch(/1 packets received/);
    const rootLinks = (await exec('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })).stdout;
    expect(JSON.parse(rootLinks).map((l: { ifname: string }) => l.ifname)).not.toContain('ul0');
    await lab.dispose();
    expect(await netnsList()).not.toContain(lab.prefix);
    expect(existsSync(lab.dir)).toBe(false);
  });

  it('ends the processes a test tracked for the lab, by PID, when disposed', async () => {
    const lab = await createNetnsLab({ libvirt: false });
    labs.push(lab);
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', (_code, signal) => r(signal)));
    lab.trackProcess(child.pid!);
    const untracked = spawn('sleep', ['600'], { stdio: 'ignore' });
    await lab.dispose();
    expect(await exited).toBe('SIGTERM');
    // Only what was tracked: another process of the test is left alone.
    expect(running(untracked.pid!)).toBe(true);
    untracked.kill('SIGKILL');
  });

  it('sweeps the namespaces, daemons and files of a run that was killed, and spares live labs', async () => {
    const live = await createNetnsLab({ libvirt: false });
    labs.push(live);
    // A module file, not `-e`: tsx resolves a .ts import's exports only from module files.
    const scriptDir = mkdtempSync(path.join(tmpdir(), 'palisade-lab-child-'));
    const scriptFile = path.join(scriptDir, 'child.mts');
    writeFileSync(scriptFile, CHILD(path.join(__dirname, 'netns-lab.ts')));
    const child = spawn(process.execPath, ['--import', 'tsx', scriptFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`lab child exited with ${code}`)));
    });
    const crashed = JSON.parse(line) as {
      prefix: string;
      dir: string;
      hosts: { netns: string; dir: string; libvirtUri: string }[];
    };
    const pids = crashed.hosts.flatMap((h) =>
      ['libvirtd', 'virtlogd'].map((d) =>
        Number(readFileSync(path.join(h.dir, `${d}.pid`), 'utf8')),
      ),
    );
    expect(pids.every(running)).toBe(true);
    await exec('virsh', ['-c', crashed.hosts[0]!.libvirtUri, 'version']);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    rmSync(scriptDir, { recursive: true, force: true });

    const swept = await sweepStaleLabs();
    expect(swept).toContain(crashed.prefix);
    expect(swept).not.toContain(live.prefix);
    expect(pids.filter(running)).toEqual([]);
    const ns = await netnsList();
    expect(ns).not.toContain(crashed.prefix);
    expect(ns).toContain(live.hosts[0]!.netns);
    expect(existsSync(crashed.dir)).toBe(false);
    expect(existsSync(path.join(LAB_ROOT, live.prefix))).toBe(true);
  });
});
