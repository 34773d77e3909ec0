import { router } from '../../trpc';
import { create } from './create';
import { remove } from './delete';
import { get } from './get';
import { list } from './list';

export const networksRouter = router({ list, get, create, delete: remove });
