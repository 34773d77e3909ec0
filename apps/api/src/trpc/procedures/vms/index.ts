import { router } from '../../trpc';
import { check } from './check';
import { create } from './create';
import { remove } from './delete';
import { forceOff } from './force-off';
import { get } from './get';
import { isolation } from './isolation';
import { list } from './list';
import { reboot } from './reboot';
import { rebuild } from './rebuild';
import { resize } from './resize';
import { start } from './start';
import { stop } from './stop';
import { update } from './update';

export const vmsRouter = router({
  list,
  get,
  create,
  update,
  delete: remove,
  start,
  stop,
  reboot,
  forceOff,
  resize,
  rebuild,
  check,
  isolation,
});
