import { router } from '../../trpc';
import { create } from './create';
import { remove } from './delete';
import { get } from './get';
import { list } from './list';
import { mine } from './mine';
import { resume } from './resume';
import { suspend } from './suspend';

/** Operators' tenant management, under admin.tenants. */
export const adminTenantsRouter = router({ list, get, create, suspend, resume, delete: remove });

/** The caller's own side of tenancy, under tenants (any signed-in principal). */
export const tenantsRouter = router({ mine });
