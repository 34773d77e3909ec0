import type { Host } from '@palisade/contracts';
import type { HostRow } from '@palisade/db';

export const toHost = (r: HostRow): Host => ({
  id: r.id,
  name: r.name,
  state: r.state,
  enabled: r.enabled,
  agentUrl: r.agentUrl,
  certFingerprint: r.certFingerprint,
  certExpiresAt: r.certExpiresAt?.toISOString() ?? null,
  lastHeartbeatAt: r.lastHeartbeatAt?.toISOString() ?? null,
  createdAt: r.createdAt.toISOString(),
});
