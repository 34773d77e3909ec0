import { bootUi } from '@palisade/ui';
import { App } from './App';

void bootUi({
  product: 'portal',
  clientId: 'palisade-portal',
  env: import.meta.env,
  render: (ctx) => <App {...ctx} />,
});
