import { router } from '../../trpc';
import { create } from './create';
import { list } from './list';
import { revoke } from './revoke';
import { rotate } from './rotate';

export const apiClientsRouter = router({ list, create, rotate, revoke });
