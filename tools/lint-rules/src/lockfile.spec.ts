/**
 * `npm ci` refuses a lockfile that lacks an optional dependency of any package, including the
 * per-platform binaries (@swc/core-darwin-arm64 and the like). The package mirror these machines
 * use does not carry every version of those, and `npm install` then silently leaves them out of
 * the lockfile, which breaks `npm ci` on a clean checkout (measured 2026-11-21). The root
 * package.json pins such packages (`overrides`) to versions the mirror has; this test catches a
 * lockfile that drifted back.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

interface LockEntry {
  optionalDependencies?: Record<string, string>;
}

const root = path.resolve(__dirname, '../../..');
const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, LockEntry>;
};

/** Node's resolution: the nearest node_modules folder up from the dependent holds the dependency. */
function resolves(from: string, dep: string): boolean {
  let dir = from;
  for (;;) {
    if (lock.packages[`${dir ? `${dir}/` : ''}node_modules/${dep}`]) return true;
    if (dir === '') return false;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up === -1 ? '' : dir.slice(0, up);
  }
}

describe('package-lock.json', () => {
  it('lists every optional dependency of every package, so `npm ci` accepts it', () => {
    const missing: string[] = [];
    for (const [where, entry] of Object.entries(lock.packages)) {
      for (const dep of Object.keys(entry.optionalDependencies ?? {})) {
        if (!resolves(where, dep)) missing.push(`${dep} (for ${where || 'the root'})`);
      }
    }
    expect(missing).toEqual([]);
  });
});
