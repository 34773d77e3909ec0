// Runs `virt-xml-validate FILE domain` on every checked-in golden file whose root is <domain>,
// exactly as a reviewer would, so a hand-edited golden cannot drift from libvirt's schema.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingValidator, validateDomainFile, validateDomainXml } from './testing/golden';

function goldenFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return goldenFiles(p);
    return path.basename(dir) === '__golden__' && e.name.endsWith('.xml') ? [p] : [];
  });
}

const all = goldenFiles(__dirname);
const domains = all.filter((f) => /^<domain[\s>]/.test(readFileSync(f, 'utf8')));

describe('golden domain XML files', () => {
  it('exist for the model and every designer case', () => {
    expect(all.length).toBeGreaterThanOrEqual(20);
    expect(domains.map((f) => path.basename(f))).toEqual(
      expect.arrayContaining([
        'domain-minimal.xml',
        'designer-selinux-kvm.xml',
        'designer-apparmor-kvm.xml',
        'designer-none-allowed-weaker.xml',
        'designer-kernel-boot-tcg.xml',
      ]),
    );
  });

  for (const file of domains) {
    it(`virt-xml-validate ${path.relative(__dirname, file)} domain`, async () => {
      const r = await validateDomainFile(file);
      expect(r.valid, r.output).toBe(true);
    });
  }
});

describe('the schema check itself', () => {
  it('rejects what libvirt rejects: a static label without <label>', async () => {
    const r = await validateDomainXml(
      "<domain type='qemu'><name>x</name><memory>1</memory><os><type>hvm</type></os>" +
        "<seclabel type='static' model='selinux' relabel='yes'/></domain>",
    );
    expect(r.valid).toBe(false);
    expect(r.output).toMatch(/fails to validate/);
  });

  it('names the package to install when virt-xml-validate is missing', async () => {
    expect(await missingValidator('/nonexistent')).toMatch(
      /virt-xml-validate is not installed: install the Debian package libvirt-clients/,
    );
    expect(await missingValidator()).toBeUndefined();
  });
});
