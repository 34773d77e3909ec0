import { z } from 'zod';

/**
 * Moving a volume between hosts (cold migration), on the agent API. The bytes stream through the
 * worker, which holds the only certificate agents accept (a host never drives another host):
 *
 * - `GET /v1/volumes/{id}/export` answers the volume file as stored (`application/octet-stream`;
 *   a LUKS volume stays ciphertext), with its SHA-256 and, when it sits on a base image, the
 *   base's store name in the headers below. Refused (409) while a running VM uses the volume.
 * - `POST /v1/volumes/{id}/import` takes that stream with the same headers plus the operation
 *   ID; the agent verifies the checksum before the volume appears, and re-points it at its own
 *   verified copy of the base. No key travels with either call.
 *
 * Browser-safe: zod only.
 */

export const VOLUME_TRANSFER_HEADERS = {
  sha256: 'x-palisade-sha256',
  base: 'x-palisade-base',
  operationId: 'x-palisade-operation-id',
} as const;

/** A base image by its name in an image store: `<sha256>.<format>`. */
export const volumeBaseName = z.string().regex(/^[0-9a-f]{64}\.(qcow2|raw)$/, {
  error: `${VOLUME_TRANSFER_HEADERS.base} must be <sha256>.<qcow2|raw>`,
});

export const agentVolumeImportHeaders = z.object({
  [VOLUME_TRANSFER_HEADERS.operationId]: z.uuid({
    error: `${VOLUME_TRANSFER_HEADERS.operationId} must be a UUID`,
  }),
  [VOLUME_TRANSFER_HEADERS.sha256]: z.string().regex(/^[0-9a-f]{64}$/, {
    error: `${VOLUME_TRANSFER_HEADERS.sha256} must be a lowercase hex SHA-256`,
  }),
  [VOLUME_TRANSFER_HEADERS.base]: volumeBaseName.optional(),
});
export type AgentVolumeImportHeaders = z.infer<typeof agentVolumeImportHeaders>;

/** `<sha256>.<format>` split into the image store's terms. */
export function parseVolumeBase(name: string): { checksum: string; format: 'qcow2' | 'raw' } {
  const [checksum, format] = name.split('.') as [string, 'qcow2' | 'raw'];
  return { checksum, format };
}
