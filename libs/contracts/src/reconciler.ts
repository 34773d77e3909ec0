import { z } from 'zod';
import { agentVmStateSchema } from './agent-api';
import { pageInput, pageOf } from './pagination';

/**
 * The reconciler's contracts: a VM's restart policy (tenants set it), what an agent answers when
 * asked for everything it holds (`GET /v1/inventory`), and the reports and quarantined items
 * operators read. Browser-safe: no I/O.
 */

/**
 * What the reconciler does with a VM that should run but is found shut off or crashed on its
 * host. `always` (the default): start it again, as a recorded `vm.restart` operation in the
 * tenant's timeline. `never`: record what the host reports and leave it for the tenant.
 * Default `always` because desired state `running` is the tenant's standing instruction; a tenant
 * who wants a VM off stops it through the API (which sets desired `stopped`), and one who wants
 * to power off from inside the guest and stay off sets `never` (docs/operations/reconciler.md).
 */
export const RESTART_POLICIES = ['always', 'never'] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];
export const RESTART_POLICY_DEFAULT: RestartPolicy = 'always';
export const restartPolicySchema = z.enum(RESTART_POLICIES, {
  error: `must be one of ${RESTART_POLICIES.join(', ')}`,
});

// --- the agent's inventory ---------------------------------------------------------------------

/** Most items of each kind one inventory answer may list (bounds the body, far above a host). */
export const MAX_INVENTORY_ITEMS = 5000;

export const agentInventorySchema = z.object({
  /** Every domain libvirt has, Palisade's or not. `vmId`/`tenantId` come from the domain's
   *  Palisade metadata and are absent for a domain Palisade did not define. */
  domains: z
    .array(
      z.object({
        uuid: z.string().max(64),
        name: z.string().max(255),
        state: agentVmStateSchema,
        vmId: z.string().optional(),
        tenantId: z.string().optional(),
        /** Volume IDs the domain's metadata names for its disks. */
        volumeIds: z.array(z.string()).default([]),
      }),
    )
    .max(MAX_INVENTORY_ITEMS),
  /** Files in the agent's volume directory. `volumeId` is set when the name follows Palisade's
   *  layout (`<volumeId>.qcow2`); anything else there is listed with `volumeId: null`. */
  volumes: z
    .array(z.object({ file: z.string().max(255), volumeId: z.string().nullable() }))
    .max(MAX_INVENTORY_ITEMS),
  /** Bridges that carry Palisade's naming (`pbr-x<vni>` / `pbr-v<vid>`). */
  segments: z
    .array(
      z.object({
        bridge: z.string().max(15),
        type: z.enum(['vxlan', 'vlan']),
        id: z.number().int(),
      }),
    )
    .max(MAX_INVENTORY_ITEMS),
});
export type AgentInventory = z.infer<typeof agentInventorySchema>;

// --- quarantine --------------------------------------------------------------------------------

export const QUARANTINE_KINDS = ['domain', 'volume', 'segment'] as const;
export type QuarantineKind = (typeof QUARANTINE_KINDS)[number];

/**
 * Why something on a host is quarantined (recorded and left alone, never deleted):
 * - `foreign`: no Palisade metadata (a domain someone defined by hand; a file not named
 *   `<uuid>.qcow2`);
 * - `no_row`: Palisade's naming or metadata, but no row in the database;
 * - `other_host`: its row says it lives on another host;
 * - `no_network`: a Palisade bridge whose segment no live network of this host's fabrics uses.
 */
export const QUARANTINE_REASONS = ['foreign', 'no_row', 'other_host', 'no_network'] as const;
export type QuarantineReason = (typeof QUARANTINE_REASONS)[number];

export const quarantinedItemSchema = z.object({
  id: z.uuid(),
  hostId: z.uuid(),
  hostName: z.string(),
  kind: z.enum(QUARANTINE_KINDS),
  /** The domain UUID, the volume file name, or the bridge name. */
  ref: z.string(),
  name: z.string().nullable(),
  reason: z.enum(QUARANTINE_REASONS),
  /** From the domain's metadata or the volume's file name, when there is one. */
  vmId: z.string().nullable(),
  tenantId: z.string().nullable(),
  /** The domain's state when last seen (domains only). */
  state: z.string().nullable(),
  firstSeenAt: z.iso.datetime(),
  lastSeenAt: z.iso.datetime(),
  /** When a pass no longer found it on the host (someone removed it); null while present. */
  resolvedAt: z.iso.datetime().nullable(),
});
export type QuarantinedItem = z.infer<typeof quarantinedItemSchema>;

export const quarantineListInput = pageInput.extend({
  hostId: z.uuid('must be a UUID').optional(),
  /** `present` (default): still on their host; `resolved`: no longer found there; `all`. */
  state: z
    .enum(['present', 'resolved', 'all'], { error: 'must be one of present, resolved, all' })
    .default('present'),
});
export const quarantineListOutput = pageOf(quarantinedItemSchema);

// --- reports -----------------------------------------------------------------------------------

const ref = z.object({ vmId: z.string(), tenantId: z.string(), hostId: z.string() });

/** What one reconciler pass found and did. Lists are capped (REPORT_LIST_MAX); counts are not. */
export const REPORT_LIST_MAX = 100;
export const reconcileSummarySchema = z.object({
  hosts: z.object({
    checked: z.number().int(),
    /** Up hosts whose agent could not be asked (the pass goes on with the others). */
    failed: z.array(z.object({ hostId: z.string(), name: z.string(), error: z.string() })),
  }),
  vms: z.object({
    /** VMs whose observed state was corrected from their host's report. */
    observedCorrected: z.number().int(),
    /** Restarted by policy `always`: a `vm.restart` operation was accepted for each. */
    restarted: z.array(ref.extend({ operationId: z.string(), was: z.string() })),
    /** Should run, found off, left alone: why (policy `never`, an operation in progress, ...). */
    left: z.array(ref.extend({ was: z.string(), reason: z.string() })),
    /** Placed on the host and not stopped, but the host has no such domain. */
    missing: z.array(ref.extend({ observedState: z.string() })),
  }),
  quarantine: z.object({
    /** Items present now, by kind, and how many this pass saw for the first time. */
    present: z.object({
      domain: z.number().int(),
      volume: z.number().int(),
      segment: z.number().int(),
    }),
    new: z.number().int(),
    /** Items earlier passes recorded that are no longer on their host. */
    resolved: z.number().int(),
  }),
  /** Files of volumes already crypto-erased (their wrapped key is gone), removed from hosts. */
  erasedVolumeFilesRemoved: z.array(z.object({ volumeId: z.string(), hostId: z.string() })),
  /** The deadline sweeper's work (it runs on its own schedule): operations unfinished past their
   *  deadline now, and operations it ended since the previous report. */
  deadlines: z.object({ overdueNow: z.number().int(), endedSinceLastReport: z.number().int() }),
  quota: z.object({
    tenantsChecked: z.number().int(),
    /** Tenants whose ledger differed from their real resources, and what it was set to. */
    corrected: z.array(
      z.object({
        tenantId: z.string(),
        ledger: z.record(z.string(), z.number()),
        actual: z.record(z.string(), z.number()),
      }),
    ),
  }),
});
export type ReconcileSummary = z.infer<typeof reconcileSummarySchema>;

export const reconcileReportSchema = z.object({
  id: z.uuid(),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  /** Which worker ran the pass. */
  worker: z.string(),
  /** Things a person should look at: failed hosts, VMs left off or missing, new quarantine,
   *  ledger corrections. Zero means the pass found the platform as the database says. */
  findings: z.number().int(),
  summary: reconcileSummarySchema,
});
export type ReconcileReport = z.infer<typeof reconcileReportSchema>;

export const reconcileReportListInput = pageInput;
export const reconcileReportListOutput = pageOf(reconcileReportSchema);
