import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  groupAlive,
  holdLock,
  isAlive,
  liveGroup,
  livePid,
  parsePid,
  readPid,
  stopPid,
  waitFor,
} from './proc';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'stack-proc-'));

describe('pidfiles', () => {
  it('reads the PID from the first line, as Postgres and Redis write it', () => {
    expect(parsePid('4242\n/var/lib/postgresql/data\n1700000000\n')).toBe(4242);
    expect(parsePid('  77  \n')).toBe(77);
    for (const bad of ['', 'abc', '-5', '1', '12x']) expect(parsePid(bad)).toBeNull();
  });

  it('treats the pidfile of a dead process as stale and removes it', async () => {
    const dir = tmp();
    const live = path.join(dir, 'live.pid');
    const dead = path.join(dir, 'dead.pid');
    const child = spawnSync('true');
    writeFileSync(live, `${process.pid}\n`);
    writeFileSync(dead, `${child.pid}\n`);
    expect(livePid(live)).toBe(process.pid);
    expect(livePid(dead, { clean: false })).toBeNull();
    expect(readPid(dead)).toBe(child.pid);
    expect(livePid(dead)).toBeNull();
    expect(readPid(dead)).toBeNull();
    expect(livePid(path.join(dir, 'missing.pid'))).toBeNull();
  });
});

describe('stopping a process group', () => {
  it('stops the leader and the children it forked, and nothing else', async () => {
    const dir = tmp();
    const pidFile = path.join(dir, 'group.pid');
    const childPidFile = path.join(dir, 'child.pid');
    // A launcher like kc.sh: a shell that runs its real work as a child and waits for it.
    const leader = spawn('sh', ['-c', `sleep 60 & echo $! > ${childPidFile}; wait`], {
      detached: true,
      stdio: 'ignore',
    });
    leader.unref();
    writeFileSync(pidFile, `${leader.pid}\n`);
    const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      await waitFor('child pidfile', async () => readPid(childPidFile) !== null, 5000);
      const child = readPid(childPidFile)!;
      expect(liveGroup(pidFile)).toBe(leader.pid);
      await stopPid(leader.pid!, { group: true, graceMs: 5000 });
      expect(groupAlive(leader.pid!)).toBe(false);
      expect(isAlive(child)).toBe(false);
      expect(liveGroup(pidFile)).toBeNull();
      expect(isAlive(bystander.pid!)).toBe(true);
    } finally {
      bystander.kill('SIGKILL');
    }
  });
});

describe('holdLock', () => {
  it('excludes every other process until released, without leaving anything to clean up', () => {
    const file = path.join(tmp(), 'dev.lock');
    const tryLock = () => spawnSync('flock', ['-x', '-n', file, 'true']).status;
    let waited = false;
    const release = holdLock(file, () => (waited = true));
    expect(waited).toBe(false);
    expect(tryLock()).toBe(1);
    release();
    expect(tryLock()).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  it('waits for a holder that is another process, and says so', async () => {
    const file = path.join(tmp(), 'test.lock');
    const holder = spawn('flock', ['-x', file, 'sleep', '1'], { stdio: 'ignore' });
    await waitFor(
      'holder',
      async () => spawnSync('flock', ['-x', '-n', file, 'true']).status === 1,
      5000,
    );
    const exited = once(holder, 'exit');
    let waited = false;
    const release = holdLock(file, () => (waited = true));
    expect(waited).toBe(true);
    // Ours now, and the holder got to finish its work first.
    expect(spawnSync('flock', ['-x', '-n', file, 'true']).status).toBe(1);
    release();
    expect(await exited).toEqual([0, null]);
  });
});

describe('liveness', () => {
  it('does not count a zombie as running, though kill(pid, 0) still succeeds', async () => {
    // `exec sleep` replaces the shell with a process that never reaps the child the shell forked:
    // that child stays a zombie, as a stopped daemon does under a PID 1 that reaps late.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
      const zombie = Number(line.toString().trim());
      const state = () => /\) (\S)/.exec(readFileSync(`/proc/${zombie}/stat`, 'utf8'))?.[1];
      await waitFor('zombie', async () => state() === 'Z', 5000);
      expect(() => process.kill(zombie, 0)).not.toThrow();
      expect(isAlive(zombie)).toBe(false);
      expect(isAlive(parent.pid!)).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
