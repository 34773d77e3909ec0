export * from './audit';
export * from './memberships';
export * from './ssh-keys';
export * from './flavors';
export * from './operation-runs';
export * from './placement-claims';
export * from './tenants';
export * from './api-clients';
