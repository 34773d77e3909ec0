export * from './policy';
export * from './verifier';
export * from './x509';
