export * from './audit';
export * from './memberships';
export * from './ssh-keys';
export * from './flavors';
export * from './hosts';
