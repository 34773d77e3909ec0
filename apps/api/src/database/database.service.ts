import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { createDb, type Db } from '@palisade/db';
import { API_CONFIG, type ApiConfig } from '../config';

/** The API's one connection pool, as the runtime role (subject to row-level security). */
@Injectable()
export class DatabaseService implements OnModuleDestroy {
  readonly db: Db;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    this.db = createDb(config.DATABASE_URL, { max: 20, connectionTimeoutMillis: 5000 });
  }

  async onModuleDestroy(): Promise<void> {
    await this.db.$client.end();
  }
}
