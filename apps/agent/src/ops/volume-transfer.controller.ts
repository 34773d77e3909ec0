import {
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  Post,
  Req,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import { VOLUME_TRANSFER_HEADERS as H } from '@palisade/contracts';
import { z } from 'zod';
import { ControlPlaneOnlyGuard } from '../host/control-plane.guard';
import { AgentErrorsFilter } from './agent-errors.filter';
import { parse } from './ops.controller';
import { VolumeTransferService } from './volume-transfer.service';

const volumeId = (id: string) => parse(z.uuid({ error: 'id must be a UUID' }), id);

/**
 * Volume export and import for cold migration (contracts: agent-volume-transfer.ts): streamed
 * both ways, never buffered whole. One line per route, as in ops.controller.ts.
 */
@Controller('v1/volumes')
@UseGuards(ControlPlaneOnlyGuard)
@UseFilters(AgentErrorsFilter)
export class VolumeTransferController {
  constructor(private readonly transfer: VolumeTransferService) {}

  @Get(':id/export')
  async export(@Param('id') id: string, @Res() res: Response): Promise<void> {
    const out = await this.transfer.export(volumeId(id));
    res.status(200).set({
      'content-type': 'application/octet-stream',
      'content-length': String(out.sizeBytes),
      [H.sha256]: out.sha256,
      ...(out.backingFile ? { [H.base]: out.backingFile.name } : {}),
    });
    // A read error mid-stream aborts the response: the importer sees a short stream and fails.
    await pipeline(Readable.from(out.open()), res);
  }

  @Post(':id/import')
  @HttpCode(200)
  import(
    @Param('id') id: string,
    @Headers() headers: Record<string, unknown>,
    @Req() req: Request,
  ) {
    return this.transfer.import(volumeId(id), headers, req);
  }
}
