import { router } from '../../trpc';
import { invite } from './invite';
import { list } from './list';
import { remove } from './remove';
import { setRole } from './set-role';

export const membersRouter = router({ list, invite, setRole, remove });
