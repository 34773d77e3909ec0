/**
 * @palisade/domain: Palisade's pure domain logic (allocators, quota arithmetic, the VM state
 * machine, placement). No I/O, no clock, no environment: every input is a parameter, so the
 * same code runs in the API, the workers, the browser and the tests.
 */
export * from './result';
export * from './random';
export * from './allocators/pool';
export * from './allocators/mcs';
export * from './allocators/segments';
export * from './allocators/mac';
export * from './allocators/ipv4';
export * from './allocators/ipv6';
export * from './quota';
export * from './vm-state';
export * from './placement';
export * from './workflow';
export * from './host-observation';
export * from './isolation-check';
export * from './restart-policy';
