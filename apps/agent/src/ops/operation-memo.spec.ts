import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoFile, OperationMemo } from './operation-memo';

const dir = mkdtempSync(path.join(os.tmpdir(), 'palisade-memo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshFile = () => memoFile(path.join(dir, `state-${++n}`), 'reboots');

describe('OperationMemo', () => {
  it('acts once per operation ID: a repeat gets the first answer', async () => {
    const memo = new OperationMemo<number>();
    let calls = 0;
    const act = async () => ++calls;
    expect(await memo.run('a', act)).toBe(1);
    expect(await memo.run('a', act)).toBe(1);
    expect(await memo.run('b', act)).toBe(2);
    expect(calls).toBe(2);
  });

  it('a repeat while the first call runs joins it instead of acting again', async () => {
    const memo = new OperationMemo<string>();
    let release!: (v: string) => void;
    let calls = 0;
    const act = () => {
      calls++;
      return new Promise<string>((r) => (release = r));
    };
    const first = memo.run('op', act);
    const second = memo.run('op', act);
    release('done');
    expect(await Promise.all([first, second])).toEqual(['done', 'done']);
    expect(calls).toBe(1);
  });

  it('does not remember a failure, so a retry acts again', async () => {
    const memo = new OperationMemo<string>();
    await expect(memo.run('op', () => Promise.reject(new Error('host failed')))).rejects.toThrow(
      'host failed',
    );
    expect(await memo.run('op', async () => 'ok')).toBe('ok');
  });

  it('forgets the oldest answers beyond its limit', async () => {
    const memo = new OperationMemo<number>({ limit: 2 });
    let calls = 0;
    const act = async () => ++calls;
    await memo.run('a', act);
    await memo.run('b', act);
    await memo.run('c', act);
    expect(await memo.run('c', act)).toBe(3);
    expect(await memo.run('a', act)).toBe(4);
  });
});

describe('OperationMemo with a file (survives a restart)', () => {
  it('a new memo on the same file answers a repeat without acting again', async () => {
    const file = freshFile();
    let calls = 0;
    const act = async () => ({ state: 'running', call: ++calls });
    expect(await new OperationMemo({ file }).run('op-1', act)).toEqual({
      state: 'running',
      call: 1,
    });
    // The "restarted agent": nothing shared with the first memo but the file.
    const again = new OperationMemo<{ state: string; call: number }>({ file });
    expect(await again.run('op-1', act)).toEqual({ state: 'running', call: 1 });
    expect(await again.run('op-2', act)).toEqual({ state: 'running', call: 2 });
    expect(calls).toBe(2);
  });

  it('writes a 0600 file in a 0700 directory, through a rename that leaves no temporary file', async () => {
    const file = freshFile();
    await new OperationMemo({ file }).run('op', async () => 'ok');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(readdirSync(path.dirname(file))).toEqual(['reboots.json']);
  });

  it('does not persist a failure', async () => {
    const file = freshFile();
    await expect(
      new OperationMemo<string>({ file }).run('op', () => Promise.reject(new Error('no'))),
    ).rejects.toThrow('no');
    expect(await new OperationMemo<string>({ file }).run('op', async () => 'retried')).toBe(
      'retried',
    );
  });

  it('is bounded in count and age, on disk as in memory', async () => {
    const file = freshFile();
    let clock = 1_000_000;
    const now = () => clock;
    const memo = new OperationMemo<number>({ file, limit: 3, maxAgeMs: 10_000, now });
    for (const id of ['a', 'b', 'c', 'd']) await memo.run(id, async () => clock++);
    const ids = () =>
      (JSON.parse(readFileSync(file, 'utf8')) as { entries: [string][] }).entries.map((e) => e[0]);
    expect(ids()).toEqual(['b', 'c', 'd']);
    clock += 20_000;
    // Past its age an answer is forgotten: the same ID acts again (and is remembered anew).
    const later = new OperationMemo<number>({ file, limit: 3, maxAgeMs: 10_000, now });
    expect(await later.run('b', async () => -1)).toBe(-1);
    expect(ids()).toEqual(['b']);
  });

  it('a damaged file is reported and the memo starts empty instead of stopping the agent', async () => {
    const file = freshFile();
    await new OperationMemo({ file }).run('op', async () => 'first');
    writeFileSync(file, '{"format":1,"entries":[["op",');
    const warnings: string[] = [];
    const memo = new OperationMemo<string>({ file, warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([expect.stringContaining('damaged, starting empty')]);
    expect(await memo.run('op', async () => 'second')).toBe('second');
  });
});
