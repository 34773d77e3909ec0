export {
  parseFloodRemotes,
  parseIpLinks,
  planSegment,
  planSegmentRemoval,
  uplinkName,
  validateSegmentSpec,
  type ObservedHost,
  type ObservedLink,
  type SegmentStep,
} from './plan';
export {
  execRunner,
  LinuxSegments,
  probeVlanSupport,
  type CommandResult,
  type CommandRunner,
  type LinuxSegmentsOptions,
} from './linux-segments';
export { createPartition, removePartition } from './partition';
export {
  probeKernelNetFeatures,
  type KernelFeature,
  type KernelNetFeatures,
  type KernelProbeOptions,
} from './kernel-features';
