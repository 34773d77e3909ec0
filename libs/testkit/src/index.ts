export * from './keycloak';
export * from './stack';
export * from './netns-lab';
