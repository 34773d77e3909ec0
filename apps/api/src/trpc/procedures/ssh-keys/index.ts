import { router } from '../../trpc';
import { create } from './create';
import { remove } from './delete';
import { list } from './list';

export const sshKeysRouter = router({ list, create, delete: remove });
