import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AGENT_CONFIG, type AgentConfig } from './config';
import { HealthController } from './health.controller';

@Module({})
export class AgentModule {
  static forRoot(config: AgentConfig): DynamicModule {
    return {
      module: AgentModule,
      imports: [
        LoggerModule.forRoot({ pinoHttp: { level: config.LOG_LEVEL, autoLogging: false } }),
      ],
      controllers: [HealthController],
      providers: [{ provide: AGENT_CONFIG, useValue: config }],
    };
  }
}
