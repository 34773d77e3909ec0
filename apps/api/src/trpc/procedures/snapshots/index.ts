import { router } from '../../trpc';
import { create } from './create';
import { remove } from './delete';
import { get } from './get';
import { list } from './list';
import { revert } from './revert';

export const snapshotsRouter = router({ list, get, create, revert, delete: remove });
