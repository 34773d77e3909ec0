import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { networkCreateInput, sshKeyCreateInput, type MyTenant } from '@palisade/contracts';
import { CheckboxList, ConfirmButton, SecretOnce, TextField, validate } from './forms';
import { pickTenant } from './tenant';

describe('validate', () => {
  it("gives the API schema's messages per input path, so the form says what the API would", () => {
    const r = validate(sshKeyCreateInput, { name: 'Bad_Name', publicKey: 'not a key' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.name).toMatch(/^must be lowercase letters, digits and dashes/);
    expect(r.errors.publicKey).toBe(
      'must be one OpenSSH public key line: "<type> <base64> [comment]", the comment in printable ASCII',
    );
  });

  it('passes what the API would accept, parsed (defaults applied)', () => {
    const r = validate(networkCreateInput, { name: 'backend', cidr: '10.0.0.0/24' });
    expect(r).toEqual({ ok: true, value: { name: 'backend', cidr: '10.0.0.0/24' } });
  });
});

describe('fields', () => {
  it('shows the error under its field, named by its input path, and marks the input invalid', () => {
    const html = renderToStaticMarkup(
      <TextField label="CIDR" path="cidr" value="x" onChange={() => {}} errors={{ cidr: 'bad' }} />,
    );
    expect(html).toContain('aria-invalid="true"');
    expect(html).toMatch(
      /<p id="[^"]+-error" class="pl-field-error" role="alert"><code>cidr<\/code>: bad<\/p>/,
    );
  });

  it("a list shows an element's error (sshKeyIds.1) for the list as a whole", () => {
    const html = renderToStaticMarkup(
      <CheckboxList
        legend="SSH keys"
        path="sshKeyIds"
        values={[]}
        onChange={() => {}}
        errors={{ 'sshKeyIds.1': 'no SSH key k' }}
        options={[{ value: 'k', label: 'laptop' }]}
        empty="none"
      />,
    );
    expect(html).toContain('<code>sshKeyIds.1</code>: no SSH key k');
  });

  it('asks before a destructive action: the first render offers only the button', () => {
    const html = renderToStaticMarkup(
      <ConfirmButton label="Delete" question="Delete web-1?" onConfirm={() => {}} danger />,
    );
    expect(html).toContain('>Delete</button>');
    expect(html).not.toContain('Delete web-1?');
    expect(html).not.toContain('Confirm');
  });

  it('shows a secret once, with a copy button and the warning', () => {
    const html = renderToStaticMarkup(<SecretOnce label="Client secret of ci" secret="s3cr3t" />);
    expect(html).toContain('<code class="pl-secret-value">s3cr3t</code>');
    expect(html).toContain('<strong>Shown once.</strong>');
    expect(html).toContain('>Copy</button>');
  });
});

describe('pickTenant', () => {
  const t = (id: string, status: MyTenant['status'] = 'active'): MyTenant => ({
    id,
    slug: id,
    name: id,
    status,
    role: 'member',
  });

  it('keeps the remembered tenant while the user is still in it', () => {
    expect(pickTenant([t('a'), t('b')], 'b')?.id).toBe('b');
  });

  it('drops a remembered tenant the user has left, for the first active one', () => {
    expect(pickTenant([t('a', 'suspended'), t('c')], 'gone')?.id).toBe('c');
  });

  it('falls back to a suspended tenant (so its status shows) and to nothing without tenants', () => {
    expect(pickTenant([t('a', 'suspended')], null)?.id).toBe('a');
    expect(pickTenant([], 'a')).toBeUndefined();
  });
});
