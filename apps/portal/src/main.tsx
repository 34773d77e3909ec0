import { bootUi } from '@palisade/ui';
import { App, PRODUCT } from './App';

bootUi({ product: PRODUCT, clientId: 'palisade-portal', env: import.meta.env, App });
