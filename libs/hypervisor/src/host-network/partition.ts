/**
 * Tenant cgroup partitions (`<resource><partition>/machine/palisade-<hex></partition>`) on
 * cgroupfs: libvirt does not create them, so the agent does before a tenant's first VM starts
 * (libs/testkit's netns lab keeps its own copy: testkit may not depend on agent-scope libs).
 * Must never remove a cgroup that still has tasks.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';

function partitionDirs(partition: string): string[] {
  const parts = partition.replace(/^\//, '').split('/');
  return parts.map((p, i) => (i === 0 ? p : `${p}.partition`));
}

function cgroupControllers(): string[] {
  // Only hierarchies libvirt uses for machines: those that have `machine/` (not `systemd`).
  return readdirSync(CGROUP_ROOT).filter((c) => existsSync(path.join(CGROUP_ROOT, c, 'machine')));
}

/**
 * Creates `/machine/<name>` for libvirt's `<resource><partition>` in every mounted controller and
 * `unified/`, copying cpuset.cpus/mems from the parent (see `tenantPartition` in the designer for
 * why each is needed). Only the last level is created; `machine` must exist.
 */
export function createPartition(partition: string): void {
  const dirs = partitionDirs(partition);
  for (const controller of cgroupControllers()) {
    const parent = path.join(CGROUP_ROOT, controller, ...dirs.slice(0, -1));
    if (!existsSync(parent))
      throw new Error(`${parent} does not exist; only one level below machine/ is created`);
    const dir = path.join(parent, dirs.at(-1)!);
    if (!existsSync(dir)) mkdirSync(dir);
    if (controller.split(',').includes('cpuset')) {
      for (const f of ['cpuset.cpus', 'cpuset.mems'])
        if (readFileSync(path.join(dir, f), 'utf8').trim() === '')
          writeFileSync(path.join(dir, f), readFileSync(path.join(parent, f), 'utf8'));
    }
  }
}

/** rmdir of a partition and any cgroups left inside it (a killed QEMU's), deepest first. */
export function removePartition(partition: string): void {
  const dirs = partitionDirs(partition);
  const rmTree = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) rmTree(path.join(dir, e.name));
    try {
      rmdirSync(dir);
    } catch {
      // still has tasks: a process we did not start; leave it
    }
  };
  for (const controller of cgroupControllers()) rmTree(path.join(CGROUP_ROOT, controller, ...dirs));
}
