export * from './keycloak';
export * from './stack';
