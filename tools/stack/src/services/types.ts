/** The contract every service of the stack implements; cli.ts drives them through it. */
import type { Paths, Ports, ProfileName } from '../profiles';

export type ServiceName = 'postgres' | 'redis' | 'keycloak' | 'libvirt';

export interface ServiceContext {
  profile: ProfileName;
  ports: Ports;
  paths: Paths;
  /** Progress for slow one-time steps (downloads, first builds); one line each. */
  log: (line: string) => void;
}

export interface ServiceStatus {
  /** A process is there: ours by pidfile, or (libvirt only) one found running. */
  running: boolean;
  /** It answers: SQL port, PING, OpenID discovery, `virsh version`. */
  ready: boolean;
  /** Started by this profile's `up`, so this profile's `down` stops it. */
  ours: boolean;
  pid?: number;
  /** Where it listens: host:port, URL or libvirt URI. */
  endpoint: string;
  note?: string;
}

export interface UpResult {
  /** False when it was already running and ready: nothing was started. */
  started: boolean;
  /** One line, e.g. `ready on 127.0.0.1:56432`. */
  detail: string;
}

export interface Service {
  name: ServiceName;
  /** Services that must be ready before this one starts. */
  after: ServiceName[];
  /** Debian packages it needs. */
  packages: readonly string[];
  /** When it cannot start, `up` reports it unavailable but does not fail. */
  optional: boolean;
  status(ctx: ServiceContext): Promise<ServiceStatus>;
  /** Starts it unless already running, then waits until it is ready. */
  up(ctx: ServiceContext): Promise<UpResult>;
  /** Stops what this profile started; returns what it did, or null when there was nothing. */
  down(ctx: ServiceContext): Promise<string | null>;
  logFile(ctx: ServiceContext): string;
}
