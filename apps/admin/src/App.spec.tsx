import { renderToStaticMarkup } from 'react-dom/server';
import type { MeOutput } from '@palisade/contracts';
import { describe, expect, it } from 'vitest';
import { consoleAccess } from './access';
import { AdminHome } from './App';

const olivia: MeOutput = {
  principal: {
    subject: 'sub-o',
    kind: 'user',
    username: 'olivia',
    name: 'Olivia Operator',
    email: 'olivia@palisade.test',
    roles: ['platform-admin', 'default-roles-palisade'],
  },
  isPlatformAdmin: true,
};
const alice: MeOutput = {
  principal: {
    subject: 'sub-a',
    kind: 'user',
    username: 'alice',
    name: 'Alice Anders',
    email: 'alice@acme.test',
    roles: ['default-roles-palisade'],
  },
  isPlatformAdmin: false,
};

describe('consoleAccess', () => {
  it("follows the API's verdict, not the role list in the answer", () => {
    expect(consoleAccess(olivia)).toEqual({ kind: 'operator' });
    expect(consoleAccess(alice)).toEqual({ kind: 'refused', name: 'Alice Anders' });
    // A role list that claims platform-admin without the API's verdict is still refused.
    const claimed = { ...alice, principal: { ...alice.principal, roles: ['platform-admin'] } };
    expect(consoleAccess(claimed).kind).toBe('refused');
  });

  it('names a refused user without a full name by username', () => {
    const noName = { ...alice, principal: { ...alice.principal, name: undefined } };
    expect(consoleAccess(noName)).toEqual({ kind: 'refused', name: 'alice' });
  });
});

describe('AdminHome', () => {
  it('shows an operator their identity and the operator view', () => {
    const html = renderToStaticMarkup(<AdminHome me={olivia} onLogout={() => {}} />);
    expect(html).toContain('Signed in as Olivia Operator');
    expect(html).toContain('<li>platform-admin</li>');
    expect(html).toContain('Operator view');
  });

  it('refuses a tenant user by name, with a logout button, and shows nothing of the console', () => {
    const html = renderToStaticMarkup(<AdminHome me={alice} onLogout={() => {}} />);
    expect(html).toContain('role="alert"');
    expect(html).toMatch(/<h1 id="refusal-title">Operators only<\/h1>/);
    expect(html).toContain(
      'Alice Anders is signed in but does not have the platform-admin role, which the admin console requires.',
    );
    expect(html).toMatch(/<button[^>]*>Log out and sign in as someone else<\/button>/);
    expect(html).not.toContain('Signed in as');
    expect(html).not.toContain('Operator view');
  });
});
