import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { ConfigErrorView, ErrorView, Layout, WhoAmI } from './components';

/** Text as a person reads it: tags dropped, whitespace collapsed. */
const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

describe('Layout', () => {
  it('shows the product, who is logged in and a logout button', () => {
    const html = renderToStaticMarkup(
      <Layout product="portal" who="Alice Anders" onLogout={() => {}}>
        body
      </Layout>,
    );
    expect(text(html)).toContain('Palisade portal');
    expect(text(html)).toContain('Logged in as Alice Anders');
    expect(html).toMatch(/<button type="button"[^>]*>Log out<\/button>/);
    expect(html).toContain('<main class="pl-main">body</main>');
  });

  it('shows neither a name nor a logout button before the login completes', () => {
    const html = renderToStaticMarkup(<Layout product="portal">…</Layout>);
    expect(html).not.toContain('<button');
    expect(text(html)).not.toContain('Logged in as');
  });
});

describe('ErrorView', () => {
  it('shows the error code and request ID, in an alert named by its heading', () => {
    const html = renderToStaticMarkup(
      <ErrorView
        title="The API refused the request"
        error={{
          message: 'The access token has expired.',
          code: 'auth.token_expired',
          requestId: 'req-9',
        }}
      />,
    );
    expect(html).toMatch(/<section role="alert" aria-labelledby="([^"]+)"[^>]*><h1 id="\1">/);
    expect(text(html)).toContain(
      'The API refused the request The access token has expired. Error code auth.token_expired Request ID req-9',
    );
  });

  it('leaves the code and request ID out when there are none (the API never answered)', () => {
    const html = renderToStaticMarkup(
      <ErrorView title="Cannot reach the API" error={{ message: 'did not answer' }} />,
    );
    expect(html).not.toContain('<dl>');
  });
});

describe('ConfigErrorView', () => {
  it('lists every problem', () => {
    const html = renderToStaticMarkup(
      <ConfigErrorView
        problems={['VITE_API_URL: Invalid URL', 'VITE_KEYCLOAK_URL: Invalid URL']}
      />,
    );
    expect(text(html)).toContain('This build is misconfigured');
    expect(html.match(/<li>/g)).toHaveLength(2);
  });
});

describe('WhoAmI', () => {
  it("shows the API's view of the principal: name, email, username and sorted roles", () => {
    const html = renderToStaticMarkup(
      <WhoAmI
        me={{
          principal: {
            subject: 'sub-1',
            kind: 'user',
            username: 'olivia',
            name: 'Olivia Operator',
            email: 'olivia@palisade.test',
            roles: ['platform-admin', 'default-roles-palisade'],
          },
          isPlatformAdmin: true,
        }}
      />,
    );
    expect(text(html)).toBe(
      'Signed in as Olivia Operator Name Olivia Operator Email olivia@palisade.test Username olivia ' +
        'Roles default-roles-palisade platform-admin Subject sub-1',
    );
    expect(html).toContain('<ul aria-label="Roles"');
  });

  it('falls back to the username when the token carries no name', () => {
    const html = renderToStaticMarkup(
      <WhoAmI
        me={{
          principal: { subject: 's', kind: 'user', username: 'bob', roles: [] },
          isPlatformAdmin: false,
        }}
      />,
    );
    expect(text(html)).toContain('Signed in as bob');
    expect(text(html)).toContain('Roles none');
  });
});
