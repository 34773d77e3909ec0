/**
 * Maps the error text `virsh` and `qemu-img` print to the port's `HypervisorErrorKind`s, so callers
 * branch on a stable kind and never on libvirt's wording. The patterns are libvirt 9.0's and QEMU
 * 7.2's messages as captured on this host (see virsh-output.spec.ts); text nothing matches
 * becomes `common.internal` with libvirt's message kept in details.
 *
 * Must never put key material in details: only argv (which never holds any) and stderr.
 */
import { AppError, ErrorCode } from '@palisade/contracts';
import {
  hypervisorError,
  HypervisorErrorKind as K,
  type HypervisorErrorKind,
} from '../contract/errors';
import type { CommandError } from './runner';

const PATTERNS: ReadonlyArray<readonly [RegExp, HypervisorErrorKind]> = [
  // virsh hides the lookup's own error behind its own line for --domain/<uuid> arguments.
  [/failed to get domain|Domain not found|no domain with matching/i, K.DOMAIN_NOT_FOUND],
  [/already exists with uuid|is already defined with uuid/, K.DOMAIN_CONFLICT],
  // libxml2 parse errors carry the document name libvirt gives the buffer, `(domain_definition)`.
  [/\(domain_definition\)|XML error|XML document|Failed to parse/i, K.INVALID_XML],
  [/Secret not found|no secret with matching/i, K.SECRET_MISSING],
  [/already defined for use with/, K.SECRET_CONFLICT],
  [/Cannot allocate memory|No space left on device|Disk quota exceeded/i, K.INSUFFICIENT_CAPACITY],
  [/domain is not running/, K.DOMAIN_INACTIVE],
  // qemu-img told the format (never probing) finds another one at the path.
  [/Image is not in qcow2 format/, K.VOLUME_CONFLICT],
  // qemu-img opening a LUKS image with the wrong key.
  [/cannot unlock any keyslot/i, K.INVALID_KEY],
  [/domain is already running|Domain is already active/i, K.DOMAIN_ACTIVE],
];

/** libvirt's message without virsh's `error: ` prefixes, one line per message. */
export function libvirtMessage(stderr: string): string {
  return stderr
    .split('\n')
    .map((l) => l.replace(/^error: /, '').trim())
    .filter((l) => l.length > 0)
    .join('\n');
}

export function classifyLibvirtError(stderr: string): HypervisorErrorKind | undefined {
  for (const [pattern, kind] of PATTERNS) if (pattern.test(stderr)) return kind;
  return undefined;
}

/**
 * The `AppError` for a failed command: the matching kind, or `common.internal`. `details` keep
 * the command line, libvirt's message and whatever context the caller adds (the domain XML for
 * define/start, per STYLE.md).
 */
export function toAppError(
  e: CommandError,
  what: string,
  context: Record<string, unknown> = {},
): AppError {
  const message = libvirtMessage(e.stderr) || e.message;
  const details = {
    ...context,
    command: [e.command, ...e.args].join(' '),
    libvirtError: message,
    ...(e.timedOut ? { timedOut: true } : {}),
  };
  const kind = e.timedOut ? undefined : classifyLibvirtError(e.stderr);
  if (kind) return hypervisorError(kind, `${what}: ${message}`, details);
  return new AppError(ErrorCode.INTERNAL, `${what}: ${message}`, { details, cause: e });
}
