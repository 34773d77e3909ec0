import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { PortalHome } from './App';

describe('PortalHome', () => {
  it('greets the tenant user by the name the API returned and lists their roles', () => {
    const html = renderToStaticMarkup(
      <PortalHome
        me={{
          principal: {
            subject: 'sub-a',
            kind: 'user',
            username: 'alice',
            name: 'Alice Anders',
            email: 'alice@acme.test',
            roles: ['offline_access', 'default-roles-palisade'],
          },
          isPlatformAdmin: false,
        }}
      />,
    );
    expect(html).toMatch(/<h1 id="[^"]+">Signed in as Alice Anders<\/h1>/);
    expect(html).toContain('alice@acme.test');
    expect(html).toContain('<li>default-roles-palisade</li><li>offline_access</li>');
  });
});
