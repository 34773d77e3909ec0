import { router } from '../../trpc';
import { get } from './get';
import { set } from './set';

export const quotaRouter = router({ get });
export const adminQuotasRouter = router({ set });
