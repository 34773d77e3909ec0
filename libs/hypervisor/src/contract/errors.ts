/**
 * The stable kinds of failure every `Hypervisor` implementation reports, so callers (and the
 * shared contract suite) can branch on what went wrong without parsing libvirt's error text.
 *
 * Each failure is an `AppError` with one of the existing common codes and `details.kind` set to
 * a `HypervisorErrorKind`. New codes in `ErrorCode` would need a row in the API's error map, and
 * these errors never leave the agent as they are, so the kind lives in `details`.
 * Must never carry key material in `details`.
 */
import { AppError, ErrorCode } from '@palisade/contracts';

export const HypervisorErrorKind = {
  /** The operation names a domain the host does not know. */
  DOMAIN_NOT_FOUND: 'domain_not_found',
  /** The operation needs a stopped domain (undefine). libvirt: VIR_ERR_OPERATION_INVALID. */
  DOMAIN_ACTIVE: 'domain_active',
  /** The operation needs a running domain (live memtune). */
  DOMAIN_INACTIVE: 'domain_inactive',
  /** Name or UUID already used by another domain. */
  DOMAIN_CONFLICT: 'domain_conflict',
  /** The domain XML cannot be parsed. */
  INVALID_XML: 'invalid_xml',
  /** An encrypted disk's secret is not defined (e.g. after a libvirtd restart). */
  SECRET_MISSING: 'secret_missing',
  /** Secret usage already taken by another UUID. */
  SECRET_CONFLICT: 'secret_conflict',
  /** Not enough memory (start) or storage (volume create/resize) on the host. */
  INSUFFICIENT_CAPACITY: 'insufficient_capacity',
  /** A disk key QEMU cannot use: LUKS passphrases must be valid UTF-8 (see keys.ts). */
  INVALID_KEY: 'invalid_key',
  /** A resize asked for a smaller image. */
  VOLUME_SHRINK: 'volume_shrink',
  /** A volume exists at the path with a different size, format or encryption. */
  VOLUME_CONFLICT: 'volume_conflict',
  VOLUME_NOT_FOUND: 'volume_not_found',
  /** A volume path, backing file or external data file outside the host's volume directories,
   *  or a reference that is not a plain file (json:, nbd:, ...): never handed to QEMU. */
  VOLUME_UNTRUSTED: 'volume_untrusted',
  /** The named snapshot is missing on at least one of the domain's disks. */
  SNAPSHOT_NOT_FOUND: 'snapshot_not_found',
  /** A segment's bridge still has a running domain's interface on it. */
  SEGMENT_IN_USE: 'segment_in_use',
  /** A device under a segment's names exists with the wrong kind, or its uplink is a port of
   *  another bridge, or its trunk/underlay device is missing: not repairable without touching
   *  something the segment does not own. */
  SEGMENT_CONFLICT: 'segment_conflict',
  /** A copied volume's bytes do not match the checksum its source host gave. */
  CHECKSUM_MISMATCH: 'checksum_mismatch',
} as const;

export type HypervisorErrorKind = (typeof HypervisorErrorKind)[keyof typeof HypervisorErrorKind];

const CODE_OF: Record<HypervisorErrorKind, ErrorCode> = {
  domain_not_found: ErrorCode.NOT_FOUND,
  domain_active: ErrorCode.CONFLICT,
  domain_inactive: ErrorCode.CONFLICT,
  domain_conflict: ErrorCode.CONFLICT,
  invalid_xml: ErrorCode.VALIDATION_FAILED,
  secret_missing: ErrorCode.CONFLICT,
  secret_conflict: ErrorCode.CONFLICT,
  insufficient_capacity: ErrorCode.UNAVAILABLE,
  invalid_key: ErrorCode.VALIDATION_FAILED,
  volume_shrink: ErrorCode.VALIDATION_FAILED,
  volume_conflict: ErrorCode.CONFLICT,
  volume_not_found: ErrorCode.NOT_FOUND,
  volume_untrusted: ErrorCode.VALIDATION_FAILED,
  snapshot_not_found: ErrorCode.NOT_FOUND,
  segment_in_use: ErrorCode.CONFLICT,
  segment_conflict: ErrorCode.CONFLICT,
  checksum_mismatch: ErrorCode.VALIDATION_FAILED,
};

export function hypervisorError(
  kind: HypervisorErrorKind,
  message: string,
  details: Record<string, unknown> = {},
): AppError {
  return new AppError(CODE_OF[kind], message, { details: { ...details, kind } });
}

/** The kind of a hypervisor failure, or undefined when `e` is not one. */
export function hypervisorErrorKind(e: unknown): HypervisorErrorKind | undefined {
  if (!(e instanceof AppError)) return undefined;
  const kind = e.details?.['kind'];
  return typeof kind === 'string' && Object.values<string>(HypervisorErrorKind).includes(kind)
    ? (kind as HypervisorErrorKind)
    : undefined;
}
