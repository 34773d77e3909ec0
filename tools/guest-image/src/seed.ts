/** The NoCloud seed builder lives in @palisade/hypervisor (the agent builds seeds); the guest
 *  image's users keep importing it from here. */
export {
  makeSeed,
  MAX_USER_DATA_BYTES,
  SEED_LABEL,
  seedFiles,
  validateSeedSpec,
  type SeedFiles,
  type SeedImage,
  type SeedNetwork,
  type SeedSpec,
} from '@palisade/hypervisor';
