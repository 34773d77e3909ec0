import { router } from '../../trpc';
import { createJoinToken } from './create-join-token';
import { list } from './list';

export const adminHostsRouter = router({ list, createJoinToken });
