export * from './keycloak';
export * from './stack';
export * from './redis';
export * from './netns-lab';
export * from './database';
