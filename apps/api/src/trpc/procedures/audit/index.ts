import { router } from '../../trpc';
import { adminList } from './admin-list';
import { list } from './list';

export const auditRouter = router({ list });
export const adminAuditRouter = router({ list: adminList });
