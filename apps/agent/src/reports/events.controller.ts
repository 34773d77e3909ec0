import { BadRequestException, Controller, Get, Query, UseGuards } from '@nestjs/common';
import { agentEventsQuerySchema, type AgentEventsPage } from '@palisade/contracts';
import { ControlPlaneOnlyGuard } from '../host/control-plane.guard';
import { EventQueue } from './event-queue';

/** GET /v1/events?after=<seq>: the event queue as it stands, for tests and debugging
 *  (control plane only). Acknowledged events are gone from it. */
@Controller('v1/events')
@UseGuards(ControlPlaneOnlyGuard)
export class EventsController {
  constructor(private readonly queue: EventQueue) {}

  @Get()
  list(@Query() query: Record<string, unknown>): AgentEventsPage {
    const parsed = agentEventsQuerySchema.safeParse(query);
    if (!parsed.success)
      throw new BadRequestException(
        parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '),
      );
    const { lastSeq, acknowledged, dropped } = this.queue.stats();
    return { events: this.queue.after(parsed.data.after, 1000), lastSeq, acknowledged, dropped };
  }
}
