export * from './keycloak';
export * from './stack';
export * from './redis';
