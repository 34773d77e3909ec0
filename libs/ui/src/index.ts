export * from './api';
export * from './boot';
export * from './components';
export * from './config';
export * from './session';
