import { Controller, Get, UseFilters, UseGuards } from '@nestjs/common';
import { ControlPlaneOnlyGuard } from '../host/control-plane.guard';
import { AgentErrorsFilter } from '../ops/agent-errors.filter';
import { HostInventoryService } from './host-inventory.service';

/** `GET /v1/inventory`: what the host holds, for the reconciler (docs/operations/agent-api.md). */
@Controller('v1')
@UseGuards(ControlPlaneOnlyGuard)
@UseFilters(AgentErrorsFilter)
export class InventoryController {
  constructor(private readonly inventory: HostInventoryService) {}

  @Get('inventory')
  get() {
    return this.inventory.inventory();
  }
}
