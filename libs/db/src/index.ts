export * from './client';
export * from './migrate';
export * from './scope';
export * as schema from './schema';
export * from './errors';
export * from './repositories';
