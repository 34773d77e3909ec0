import { describe, expect, it } from 'vitest';
import { OperationMemo } from './operation-memo';

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
    const memo = new OperationMemo<number>(2);
    let calls = 0;
    const act = async () => ++calls;
    await memo.run('a', act);
    await memo.run('b', act);
    await memo.run('c', act);
    expect(await memo.run('c', act)).toBe(3);
    expect(await memo.run('a', act)).toBe(4);
  });
});
