import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { WORKER_CONFIG, type WorkerConfig } from './config';
import { HostMonitorService } from './hosts/host-monitor.service';
import { HeartbeatProcessor } from './processors/heartbeat.processor';
import { OperationsService } from './operations/operations.service';
import { QueuesService } from './queues.service';
import { ReconcilerService } from './reconciler/reconciler.service';
import { vmWorkflowsProvider } from './vms/vm-workflows.provider';

@Module({})
export class WorkerModule {
  static forRoot(config: WorkerConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.LOG_LEVEL,
            transport:
              config.LOG_FORMAT === 'pretty'
                ? { target: 'pino-pretty', options: { singleLine: true, ignore: 'pid,hostname' } }
                : undefined,
          },
        }),
      ],
      providers: [
        { provide: WORKER_CONFIG, useValue: config },
        // Workflows are added per operation kind as they are built (orchestration issue).
        vmWorkflowsProvider,
        HeartbeatProcessor,
        QueuesService,
        OperationsService,
        HostMonitorService,
        ReconcilerService,
      ],
    };
  }
}
