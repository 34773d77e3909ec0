import { router } from '../../trpc';
import { follow } from './follow';
import { get } from './get';
import { list } from './list';

export const operationsRouter = router({ list, get, follow });
