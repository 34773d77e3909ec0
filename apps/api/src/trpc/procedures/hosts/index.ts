import { router } from '../../trpc';
import { compliance } from './compliance';
import { createJoinToken } from './create-join-token';
import { list } from './list';

export const adminHostsRouter = router({ list, createJoinToken, compliance });
