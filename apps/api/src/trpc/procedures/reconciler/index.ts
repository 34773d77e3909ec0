import { router } from '../../trpc';
import { quarantine } from './quarantine';
import { reports } from './reports';

export const adminReconcilerRouter = router({ reports, quarantine });
