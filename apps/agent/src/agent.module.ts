import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig } from './config';
import { HealthController } from './health.controller';
import { ControlPlaneOnlyGuard } from './host/control-plane.guard';
import { HostController } from './host/host.controller';
import { HostService } from './host/host.service';
import { HostInventoryService } from './inventory/host-inventory.service';
import { InventoryController } from './inventory/inventory.controller';
import { EventQueue } from './reports/event-queue';
import { EventsController } from './reports/events.controller';
import { hypervisorProvider } from './ops/hypervisor.provider';
import { HostOpsService } from './ops/host-ops.service';
import { OpsController } from './ops/ops.controller';
import { VolumeTransferController } from './ops/volume-transfer.controller';
import { VolumeTransferService } from './ops/volume-transfer.service';

@Module({})
export class AgentModule {
  static forRoot(config: AgentConfig): DynamicModule {
    return {
      module: AgentModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.LOG_LEVEL,
            autoLogging: false,
            transport:
              config.LOG_FORMAT === 'pretty'
                ? { target: 'pino-pretty', options: { singleLine: true, ignore: 'pid,hostname' } }
                : undefined,
          },
        }),
      ],
      controllers: [
        HealthController,
        HostController,
        EventsController,
        OpsController,
        VolumeTransferController,
        InventoryController,
      ],
      providers: [
        { provide: AGENT_CONFIG, useValue: config },
        HostService,
        ControlPlaneOnlyGuard,
        { provide: EventQueue, useValue: new EventQueue(config.AGENT_EVENT_QUEUE_SIZE) },
        hypervisorProvider,
        HostOpsService,
        VolumeTransferService,
        HostInventoryService,
      ],
    };
  }
}
