import { Controller, Get, UseGuards } from '@nestjs/common';
import { ControlPlaneOnlyGuard } from './control-plane.guard';
import { HostService } from './host.service';

/** The host's facts, for the control plane only (mTLS plus the control-plane OU). */
@Controller('v1/host')
@UseGuards(ControlPlaneOnlyGuard)
export class HostController {
  constructor(private readonly host: HostService) {}

  @Get('probe')
  probe() {
    return this.host.probe();
  }

  @Get('compliance')
  compliance() {
    return this.host.compliance();
  }
}
