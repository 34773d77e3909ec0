import { Controller, Get, UseGuards } from '@nestjs/common';
import type { ComplianceReportWire } from '@palisade/contracts';
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

  /** Typed as the wire format, so the compiler flags any drift from what the API parses. */
  @Get('compliance')
  compliance(): Promise<ComplianceReportWire> {
    return this.host.compliance();
  }
}
