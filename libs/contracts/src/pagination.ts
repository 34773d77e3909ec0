import { z } from 'zod';

/**
 * Cursor pagination shared by every list: newest first, ties broken by id, so the order is stable
 * while rows are added. The cursor is opaque to clients (the API encodes the last row's position);
 * pass `nextCursor` back unchanged to get the next page.
 */
export const PAGE_LIMIT_DEFAULT = 50;
export const PAGE_LIMIT_MAX = 200;

export const pageInput = z.object({
  cursor: z.string().max(200, 'must be at most 200 characters').optional(),
  limit: z.coerce
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(PAGE_LIMIT_MAX, `must be at most ${PAGE_LIMIT_MAX}`)
    .default(PAGE_LIMIT_DEFAULT),
});
export type PageInput = z.infer<typeof pageInput>;

export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

/** Optional filter values in query strings: an empty value means "no filter". */
export const tagFilter = z
  .string()
  .max(63, 'must be at most 63 characters')
  .optional()
  .describe('only items carrying this tag');
