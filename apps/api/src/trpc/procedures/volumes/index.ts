import { router } from '../../trpc';
import { attach } from './attach';
import { create } from './create';
import { remove } from './delete';
import { detach } from './detach';
import { extend } from './extend';
import { get } from './get';
import { list } from './list';

export const volumesRouter = router({ list, get, create, attach, detach, extend, delete: remove });
