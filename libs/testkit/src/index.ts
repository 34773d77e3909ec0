export * from './keycloak';
export * from './stack';
export * from './redis';
export * from './netns-lab';
export * from './agent-process';
export * from './serial-console';
export * from './database';
