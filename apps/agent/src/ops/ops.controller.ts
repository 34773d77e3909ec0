import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import {
  AppError,
  ErrorCode,
  agentDeleteVolumeInput,
  agentEnsureImageInput,
  agentEnsureSegmentInput,
  agentEnsureVmRunningInput,
  agentEnsureVolumeInput,
  agentOperationInput,
  agentRebootVmInput,
  agentRemoveSegmentInput,
  agentResizeVolumeInput,
  agentSnapshotInput,
} from '@palisade/contracts';
import { z } from 'zod';
import { ControlPlaneOnlyGuard } from '../host/control-plane.guard';
import { AgentErrorsFilter } from './agent-errors.filter';
import { HostOpsService } from './host-ops.service';

/** Parses a body with its contract schema; a bad one answers 400 naming the first bad field. */
export function parse<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path.join('.');
  throw new AppError(ErrorCode.VALIDATION_FAILED, `${field}: ${issue.message}`, {
    userMessage: `${field || 'body'}: ${issue.message}`,
    details: { field },
  });
}

const vmId = (id: string) => parse(z.uuid({ error: 'id must be a UUID' }), id);

/**
 * Host operations for the control plane's workflows (docs/operations/agent-api.md). One line per
 * route; every POST carries the operation ID and is idempotent.
 */
@Controller('v1')
@UseGuards(ControlPlaneOnlyGuard)
@UseFilters(AgentErrorsFilter)
export class OpsController {
  constructor(private readonly ops: HostOpsService) {}

  @Post('images/ensure')
  @HttpCode(200)
  ensureImage(@Body() body: unknown) {
    return this.ops.ensureImage(parse(agentEnsureImageInput, body));
  }

  @Post('volumes/ensure')
  @HttpCode(200)
  ensureVolume(@Body() body: unknown) {
    return this.ops.ensureVolume(parse(agentEnsureVolumeInput, body));
  }

  @Post('volumes/delete')
  @HttpCode(200)
  async deleteVolume(@Body() body: unknown) {
    await this.ops.deleteVolume(parse(agentDeleteVolumeInput, body).volumeId);
    return { deleted: true };
  }

  @Post('volumes/resize')
  @HttpCode(200)
  resizeVolume(@Body() body: unknown) {
    return this.ops.resizeVolume(parse(agentResizeVolumeInput, body));
  }

  @Post('segments/remove')
  @HttpCode(200)
  removeSegment(@Body() body: unknown) {
    return this.ops.removeSegment(parse(agentRemoveSegmentInput, body));
  }

  @Post('segments/ensure')
  @HttpCode(200)
  ensureSegment(@Body() body: unknown) {
    return this.ops.ensureSegment(parse(agentEnsureSegmentInput, body));
  }

  @Get('segments')
  listSegments() {
    return this.ops.listSegments();
  }

  @Post('vms/ensure-running')
  @HttpCode(200)
  ensureRunning(@Body() body: unknown) {
    return this.ops.ensureRunning(parse(agentEnsureVmRunningInput, body));
  }

  @Post('vms/define')
  @HttpCode(200)
  defineStopped(@Body() body: unknown) {
    return this.ops.defineStopped(parse(agentEnsureVmRunningInput, body));
  }

  @Post('vms/:id/stop')
  @HttpCode(200)
  stop(@Param('id') id: string, @Body() body: unknown) {
    parse(agentOperationInput, body);
    return this.ops.stop(vmId(id), false);
  }

  @Post('vms/:id/force-off')
  @HttpCode(200)
  forceOff(@Param('id') id: string, @Body() body: unknown) {
    parse(agentOperationInput, body);
    return this.ops.stop(vmId(id), true);
  }

  @Post('vms/:id/destroy')
  @HttpCode(200)
  async destroy(@Param('id') id: string, @Body() body: unknown) {
    parse(agentOperationInput, body);
    await this.ops.destroy(vmId(id));
    return { destroyed: true };
  }

  @Post('vms/:id/reboot')
  @HttpCode(200)
  reboot(@Param('id') id: string, @Body() body: unknown) {
    return this.ops.reboot(vmId(id), parse(agentRebootVmInput, body));
  }

  @Post('vms/:id/snapshots/create')
  @HttpCode(200)
  createSnapshot(@Param('id') id: string, @Body() body: unknown) {
    return this.ops.createSnapshot(vmId(id), parse(agentSnapshotInput, body));
  }

  @Post('vms/:id/snapshots/revert')
  @HttpCode(200)
  revertSnapshot(@Param('id') id: string, @Body() body: unknown) {
    return this.ops.revertSnapshot(vmId(id), parse(agentSnapshotInput, body));
  }

  @Post('vms/:id/snapshots/delete')
  @HttpCode(200)
  deleteSnapshot(@Param('id') id: string, @Body() body: unknown) {
    return this.ops.deleteSnapshot(vmId(id), parse(agentSnapshotInput, body));
  }

  @Get('vms/:id/snapshots')
  listSnapshots(@Param('id') id: string) {
    return this.ops.listSnapshots(vmId(id));
  }

  @Get('vms/:id')
  get(@Param('id') id: string) {
    return this.ops.get(vmId(id));
  }

  @Get('vms/:id/isolation')
  isolation(@Param('id') id: string) {
    return this.ops.isolation(vmId(id));
  }

  @Get('vms')
  list() {
    return this.ops.list();
  }

  @Get('storage')
  storage() {
    return this.ops.storage();
  }
}
