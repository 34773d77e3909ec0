/**
 * Everything this host holds that Palisade might own, for the control plane's reconciler: every
 * libvirt domain (with the Palisade identity from its metadata, or none for a foreign one), every
 * file in the volume directory, and every bridge named like a Palisade segment. Read-only: the
 * reconciler decides, and it never deletes what it does not know (it quarantines it).
 *
 * The layout it reads is the one HostOpsService writes: `<state>/volumes/<volumeId>.qcow2` and
 * bridges `pbr-x<vni>` / `pbr-v<vid>`.
 */
import path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { MAX_INVENTORY_ITEMS, type AgentInventory } from '@palisade/contracts';
import type { Hypervisor } from '@palisade/hypervisor';
import { AGENT_CONFIG, type AgentConfig } from '../config';
import { HYPERVISOR } from '../ops/hypervisor.provider';

const VOLUME_FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.qcow2$/;
const SEGMENT_BRIDGE = /^pbr-([xv])(\d{1,8})$/;

@Injectable()
export class HostInventoryService {
  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    @Inject(HYPERVISOR) private readonly hv: Hypervisor,
  ) {}

  async inventory(): Promise<AgentInventory> {
    const domains = await this.hv.listDomains();
    const files = await this.hv.volumes.list(path.join(this.config.AGENT_STATE_DIR, 'volumes'));
    const bridges = await this.hv.networks.listBridges();
    return {
      domains: domains.slice(0, MAX_INVENTORY_ITEMS).map((d) => ({
        uuid: d.uuid,
        name: d.name,
        state: d.state,
        ...(d.palisade
          ? {
              vmId: d.palisade.vmId,
              tenantId: d.palisade.tenantId,
              volumeIds: d.palisade.disks.map((disk) => disk.volumeId),
            }
          : { volumeIds: [] }),
      })),
      volumes: files.slice(0, MAX_INVENTORY_ITEMS).map((file) => ({
        file,
        volumeId: VOLUME_FILE.exec(file)?.[1] ?? null,
      })),
      segments: bridges.flatMap((bridge) => {
        const m = SEGMENT_BRIDGE.exec(bridge);
        if (!m) return [];
        return [
          { bridge, type: m[1] === 'x' ? ('vxlan' as const) : ('vlan' as const), id: Number(m[2]) },
        ];
      }),
    };
  }
}
