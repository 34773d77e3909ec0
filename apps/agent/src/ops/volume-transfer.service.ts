/**
 * Export and import of volume files for cold migration (contracts: agent-volume-transfer.ts).
 * The file moves as stored: a LUKS volume stays ciphertext and no key is asked for or used here;
 * the key reaches the target host only when the VM starts there (`ensure-running`).
 *
 * Must never: export a volume a running VM is writing (the copy would be torn), or let an import
 * replace one a running VM uses; let an unverified copy appear (the port checks the SHA-256
 * before the rename); re-point a copy at a base image this host has not verified.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  AppError,
  ErrorCode,
  agentVolumeImportHeaders,
  parseVolumeBase,
  VOLUME_TRANSFER_HEADERS as H,
  type AgentVolume,
} from '@palisade/contracts';
import type { Hypervisor, VolumeExport } from '@palisade/hypervisor';
import { HostOpsService } from './host-ops.service';
import { HYPERVISOR } from './hypervisor.provider';
import { parse } from './ops.controller';

@Injectable()
export class VolumeTransferService {
  private readonly log = new Logger('volume-transfer');

  constructor(
    @Inject(HYPERVISOR) private readonly hv: Hypervisor,
    private readonly ops: HostOpsService,
  ) {}

  async export(volumeId: string): Promise<VolumeExport> {
    const file = this.ops.volumePath(volumeId);
    await this.refuseInUse(file, volumeId, 'export');
    const out = await this.hv.volumes.export(file);
    if (!out)
      throw new AppError(ErrorCode.NOT_FOUND, `no volume ${volumeId} on this host`, {
        details: { field: 'id', volumeId },
      });
    return out;
  }

  async import(
    volumeId: string,
    headers: Record<string, unknown>,
    body: AsyncIterable<Uint8Array>,
  ): Promise<AgentVolume> {
    const h = parse(agentVolumeImportHeaders, headers);
    const baseName = h[H.base];
    const base = baseName ? parseVolumeBase(baseName) : undefined;
    // The base must be in this host's store and verified by its checksum before a copy names it.
    if (base) await this.ops.ensureImage(base);
    const file = this.ops.volumePath(volumeId);
    await mkdir(path.dirname(file), { recursive: true, mode: 0o711 });
    await this.refuseInUse(file, volumeId, 'import over');
    const info = await this.hv.volumes.import(file, body, {
      sha256: h[H.sha256],
      ...(base
        ? {
            backingFile: {
              path: this.ops.imagePath(base.checksum, base.format),
              format: base.format,
            },
          }
        : {}),
    });
    this.log.log(`volume ${volumeId} imported (operation ${h[H.operationId]})`);
    return { volumeId, encrypted: info.encrypted, virtualSizeBytes: info.virtualSizeBytes };
  }

  private async refuseInUse(file: string, volumeId: string, verb: string): Promise<void> {
    for (const d of await this.hv.listDomains()) {
      if (d.state !== 'running' && d.state !== 'paused') continue;
      const live = await this.hv.getDomain(d.uuid);
      // A text match, as for resize: any domain on the host counts, Palisade's or not.
      if (live?.xml.includes(`file='${file}'`))
        throw new AppError(
          ErrorCode.INVALID_STATE,
          `volume ${volumeId} is in use by vm ${d.uuid}`,
          {
            userMessage: `Cannot ${verb} volume ${volumeId}: a running VM uses it; stop the VM first.`,
            details: { field: 'id', vmId: d.uuid },
          },
        );
    }
  }
}
