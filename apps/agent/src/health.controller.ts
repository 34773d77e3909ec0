import { Controller, Get, Inject } from '@nestjs/common';
import { AGENT_CONFIG, type AgentConfig } from './config';

/** Liveness only. The agent never exposes tenant data here. */
@Controller()
export class HealthController {
  constructor(@Inject(AGENT_CONFIG) private readonly config: AgentConfig) {}

  @Get('healthz')
  healthz() {
    return { status: 'ok', host: this.config.AGENT_HOSTNAME };
  }
}
