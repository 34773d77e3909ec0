import { router } from '../../trpc';
import { compliance } from './compliance';
import { createJoinToken } from './create-join-token';
import { disable } from './disable';
import { drain } from './drain';
import { enable } from './enable';
import { get } from './get';
import { list } from './list';

export const adminHostsRouter = router({
  list,
  get,
  createJoinToken,
  compliance,
  drain,
  enable,
  disable,
});
