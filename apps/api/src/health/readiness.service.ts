import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Redis } from 'ioredis';
import { pingDb } from '@palisade/db';
import { DatabaseService } from '../database/database.service';
import { AuthService } from '../auth/auth.service';
import { API_CONFIG, type ApiConfig } from '../config';

export interface DependencyStatus {
  ok: boolean;
  latencyMs: number;
  error?: string;
}

export interface ReadinessReport {
  ready: boolean;
  checks: { postgres: DependencyStatus; redis: DependencyStatus; keycloakJwks: DependencyStatus };
}

const TIMEOUT_MS = 2000;

async function timed(fn: () => Promise<unknown>): Promise<DependencyStatus> {
  const start = performance.now();
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_MS} ms`)), TIMEOUT_MS).unref(),
      ),
    ]);
    return { ok: true, latencyMs: Math.round(performance.now() - start) };
  } catch (e) {
    return {
      ok: false,
      latencyMs: Math.round(performance.now() - start),
      error: e instanceof Error ? e.message : String(e),
    };
  }
}

/** Postgres, Redis and the Keycloak JWKS must all answer for the API to take traffic. */
@Injectable()
export class ReadinessService implements OnModuleDestroy {
  private readonly redis: Redis;

  constructor(
    @Inject(API_CONFIG) config: ApiConfig,
    private readonly auth: AuthService,
    private readonly database: DatabaseService,
  ) {
    // Fail fast instead of queueing commands while Redis is away: readiness must say "no" now.
    this.redis = new Redis(config.REDIS_URL, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    this.redis.on('error', () => undefined);
  }

  async check(): Promise<ReadinessReport> {
    const [postgres, redis, keycloakJwks] = await Promise.all([
      timed(() => pingDb(this.database.db, TIMEOUT_MS)),
      timed(async () => {
        if (this.redis.status === 'wait' || this.redis.status === 'end') await this.redis.connect();
        await this.redis.ping();
      }),
      timed(async () => {
        const r = await this.auth.checkJwks();
        if (!r.ok) throw new Error(r.reason);
      }),
    ]);
    return {
      ready: postgres.ok && redis.ok && keycloakJwks.ok,
      checks: { postgres, redis, keycloakJwks },
    };
  }

  onModuleDestroy() {
    this.redis.disconnect();
  }
}
