/**
 * Test support for golden XML files: compares output with the checked-in file (or rewrites it
 * when UPDATE_GOLDEN=1) and validates documents with libvirt's own schema via
 * `virt-xml-validate FILE domain`. Used by specs only; never exported from the library.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';

const run = promisify(execFile);

export const UPDATE = process.env.UPDATE_GOLDEN === '1';

/** Asserts `actual` equals the golden file byte for byte (or writes it with UPDATE_GOLDEN=1). */
export function expectGolden(file: string, actual: string): void {
  if (UPDATE) {
    writeFileSync(file, actual);
    return;
  }
  if (!existsSync(file))
    throw new Error(`golden file ${file} is missing; run with UPDATE_GOLDEN=1 to create it`);
  expect(actual, `differs from ${path.basename(file)} (UPDATE_GOLDEN=1 rewrites it)`).toBe(
    readFileSync(file, 'utf8'),
  );
}

/** Which tools schema validation needs, and the Debian package that provides each. */
export const VALIDATOR_TOOLS = [
  ['virt-xml-validate', 'libvirt-clients'],
  ['xmllint', 'libxml2-utils'],
] as const;

/** The install hint for the first missing tool on `pathEnv`, or undefined when all are there. */
export async function missingValidator(
  pathEnv = process.env.PATH ?? '',
): Promise<string | undefined> {
  for (const [bin, pkg] of VALIDATOR_TOOLS) {
    try {
      await run('/bin/sh', ['-c', `command -v ${bin}`], { env: { PATH: pathEnv } });
    } catch {
      return `${bin} is not installed: install the Debian package ${pkg} (apt-get install -y libvirt-clients libxml2-utils; the stack tool installs both)`;
    }
  }
  return undefined;
}

let validator: Promise<void> | undefined;

/** Fails with the install hint when a tool is missing, instead of skipping: schema validation is
 *  the point of these tests. */
export function requireValidator(): Promise<void> {
  validator ??= missingValidator().then((missing) => {
    if (missing !== undefined) throw new Error(missing);
  });
  return validator;
}

/** Runs `virt-xml-validate FILE domain`; resolves with its verdict and output. */
export async function validateDomainFile(
  file: string,
): Promise<{ valid: boolean; output: string }> {
  await requireValidator();
  try {
    const r = await run('virt-xml-validate', [file, 'domain']);
    return { valid: true, output: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    return { valid: false, output: `${err.stdout ?? ''}${err.stderr ?? ''}` || err.message };
  }
}

/** Validates an XML string by writing it to a temporary file. */
export async function validateDomainXml(xml: string): Promise<{ valid: boolean; output: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'palisade-golden-'));
  try {
    const file = path.join(dir, 'domain.xml');
    writeFileSync(file, xml);
    return await validateDomainFile(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
