import { bootUi } from '@palisade/ui';
import { App } from './App';

void bootUi({
  product: 'admin console',
  clientId: 'palisade-admin',
  env: import.meta.env,
  render: (ctx) => <App {...ctx} />,
});
