export * from './config';
export * from './errors';
export * from './identity';
export * from './jobs';
export * from './vm-spec';
export * from './ssh-keys';
export * from './flavors';
export * from './isolation-report';
