import { router } from '../../trpc';
import { list } from './list';

export const imagesRouter = router({ list });
