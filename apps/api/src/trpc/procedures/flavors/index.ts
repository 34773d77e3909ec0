import { router } from '../../trpc';
import { adminList } from './admin-list';
import { create } from './create';
import { list } from './list';
import { setDisabled } from './set-disabled';

export const flavorsRouter = router({ list });
export const adminFlavorsRouter = router({ list: adminList, create, setDisabled });
