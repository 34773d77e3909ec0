/**
 * @palisade/guest-image — Palisade Tiny, the small bootable test guest, and its NoCloud seed.
 *
 *   buildGuestImage()  vmlinuz + initrd.img (direct kernel boot) and palisade-tiny.qcow2 (BIOS
 *                      boot), cached under ${PALISADE_CACHE:-~/.cache/palisade}/guest-image/
 *   makeSeed()         the `cidata` vfat disk the guest configures itself from
 *   parseMarkers()     what the guest reported on its serial line
 *   TinyGuest          boots it under qemu (TCG, isolated networking) for tests
 */
export {
  buildGuestImage,
  defaultCacheRoot,
  KERNEL_CMDLINE,
  type BuildOptions,
  type GuestImage,
  type GuestImageManifest,
} from './build';
export { DISK_LAYOUT } from './disk';
export { MARKER_PREFIX, parseMarkers, type Markers, type ReadyMarker } from './markers';
export {
  BOOT_PACKAGES,
  BUILD_PACKAGES,
  SEED_PACKAGES,
  ensurePackages,
  MissingPackagesError,
} from './packages';
export {
  TinyGuest,
  tinyQemuArgs,
  type TinyBoot,
  type TinyDisk,
  type TinyGuestOptions,
  type TinyNetwork,
} from './qemu';
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
} from './seed';
