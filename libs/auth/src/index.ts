export * from './policy';
export * from './verifier';
