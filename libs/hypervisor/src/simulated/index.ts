export * from './simulated';
export * from '../contract/errors';
