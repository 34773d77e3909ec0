import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprintOf } from './ssh-key';

describe('fingerprintOf', () => {
  it('matches ssh-keygen for a freshly generated ed25519 key', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sshkey-'));
    execFileSync('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-C',
      'alice@laptop',
      '-f',
      path.join(dir, 'k'),
    ]);
    const pub = readFileSync(path.join(dir, 'k.pub'), 'utf8');
    const expected = execFileSync('ssh-keygen', ['-lf', path.join(dir, 'k.pub')], {
      encoding: 'utf8',
    }).split(' ')[1];
    expect(fingerprintOf(pub)).toEqual({ normalized: pub.trim(), fingerprint: expected });
  });

  it('refuses a key whose blob is of another type than declared', () => {
    const ed = 'AAAAC3NzaC1lZDI1NTE5AAAAIPlaceholderPlaceholderPlaceholderPlaceholder';
    expect(() => fingerprintOf(`ssh-rsa ${ed}`)).toThrow(/does not match ssh-rsa/);
    expect(() => fingerprintOf('ssh-ed25519 AAAA')).toThrow(/does not match/);
  });
});
