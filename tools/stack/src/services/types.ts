import type { Paths, Profile, ProfileName } from '../profiles';

export type ServiceName = 'postgres' | 'redis' | 'keycloak' | 'libvirt';

export interface ServiceContext {
  profile: ProfileName;
  ports: Profile['ports'];
  paths: Paths;
}

export interface ServiceStatus {
  running: boolean;
  /** Started by this stack (so `down` may stop it), as opposed to found running. */
  ours: boolean;
  pid?: number;
  detail: string;
}

export interface Service {
  name: ServiceName;
  /** Services that must be ready first. */
  after: ServiceName[];
  status(ctx: ServiceContext): Promise<ServiceStatus>;
  /** Starts the service if needed and waits until it is ready; returns a one-line description. */
  up(ctx: ServiceContext): Promise<string>;
  down(ctx: ServiceContext): Promise<void>;
  logFile(ctx: ServiceContext): string;
}
