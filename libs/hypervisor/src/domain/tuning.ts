/**
 * The cgroup-backed resource controls: `<cputune>`, `<memtune>`, `<blkiotune>` and `<resource>`
 * (the cgroup partition). Values are written exactly as given; the designer picks them.
 */
import { child, el, textEl, type XmlElement } from '../xml/xml';
import { expectName, invalid, optionalInteger, parseKiB, type Codec } from './codec';

export interface CpuTune {
  shares?: number;
  /** CFS period in microseconds. */
  period?: number;
  /** CFS quota in microseconds per period, applied to each vCPU's cgroup; -1 is unlimited. */
  quota?: number;
}

export const cpuTuneCodec: Codec<CpuTune> = {
  element: 'cputune',
  toElement: (t) =>
    el('cputune', {}, [
      t.shares === undefined ? undefined : textEl('shares', t.shares),
      t.period === undefined ? undefined : textEl('period', t.period),
      t.quota === undefined ? undefined : textEl('quota', t.quota),
    ]),
  fromElement: (e) => {
    expectName(e, 'cputune');
    const out: CpuTune = {};
    const shares = optionalInteger(child(e, 'shares')?.text, 'cputune shares');
    const period = optionalInteger(child(e, 'period')?.text, 'cputune period');
    const quota = optionalInteger(child(e, 'quota')?.text, 'cputune quota');
    if (shares !== undefined) out.shares = shares;
    if (period !== undefined) out.period = period;
    if (quota !== undefined) out.quota = quota;
    return out;
  },
};

export interface MemTune {
  hardLimitKiB?: number;
  softLimitKiB?: number;
  swapHardLimitKiB?: number;
}

const MEMTUNE_FIELDS = [
  ['hard_limit', 'hardLimitKiB'],
  ['soft_limit', 'softLimitKiB'],
  ['swap_hard_limit', 'swapHardLimitKiB'],
] as const;

export const memTuneCodec: Codec<MemTune> = {
  element: 'memtune',
  toElement: (t) =>
    el(
      'memtune',
      {},
      MEMTUNE_FIELDS.map(([tag, key]) =>
        t[key] === undefined ? undefined : textEl(tag, t[key], { unit: 'KiB' }),
      ),
    ),
  fromElement: (e) => {
    expectName(e, 'memtune');
    const out: MemTune = {};
    for (const [tag, key] of MEMTUNE_FIELDS) {
      const c = child(e, tag);
      if (c) out[key] = parseKiB(c, `memtune ${tag}`);
    }
    return out;
  },
};

export interface BlkioTune {
  /** cgroup blkio weight, 100-1000. */
  weight?: number;
}

export const blkioTuneCodec: Codec<BlkioTune> = {
  element: 'blkiotune',
  toElement: (t) =>
    el('blkiotune', {}, [t.weight === undefined ? undefined : textEl('weight', t.weight)]),
  fromElement: (e) => {
    expectName(e, 'blkiotune');
    const weight = optionalInteger(child(e, 'weight')?.text, 'blkiotune weight');
    return weight === undefined ? {} : { weight };
  },
};

export interface Resource {
  /** Absolute cgroup partition path, for example `/machine/palisade-<tenant>`. */
  partition: string;
}

export const resourceCodec: Codec<Resource> = {
  element: 'resource',
  toElement: (r) => el('resource', {}, [textEl('partition', r.partition)]),
  fromElement: (e: XmlElement) => {
    expectName(e, 'resource');
    const partition = child(e, 'partition')?.text;
    if (partition === undefined) throw invalid('<resource> has no <partition>');
    return { partition };
  },
};
