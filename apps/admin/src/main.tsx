import { bootUi } from '@palisade/ui';
import { App, PRODUCT } from './App';

bootUi({ product: PRODUCT, clientId: 'palisade-admin', env: import.meta.env, App });
