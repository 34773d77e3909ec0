import { sql } from 'drizzle-orm';
import {
  check,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  smallint,
  text,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { RESTART_POLICIES } from '@palisade/contracts';
import { DESIRED_STATES, OBSERVED_STATES } from '@palisade/domain';
import { id, timestamps } from './columns';
import { flavors } from './flavors';
import { hosts } from './hosts';
import { images } from './images';
import { tenantId, tenantIsolation } from './tenant-columns';

// The state lists are the domain's (libs/domain vm-state.ts): one definition, enforced here too.
export const vmDesiredState = pgEnum('vm_desired_state', DESIRED_STATES);
export const vmObservedState = pgEnum('vm_observed_state', OBSERVED_STATES);
// What the reconciler does when a VM that should run is found off (contracts reconciler.ts).
export const vmRestartPolicy = pgEnum('vm_restart_policy', RESTART_POLICIES);

/** The most user-data a VM may carry (it travels in the NoCloud seed). */
export const USER_DATA_MAX_BYTES = 32 * 1024;

/**
 * A VM: what the tenant wants (`desiredState`) next to what its host last reported
 * (`observedState`). The MCS category pair is unique across the cluster, by constraint.
 */
export const vms = pgTable(
  'vms',
  {
    id: id(),
    tenantId: tenantId(),
    name: text().notNull(),
    flavorId: uuid()
      .notNull()
      .references(() => flavors.id, { onDelete: 'restrict' }),
    imageId: uuid()
      .notNull()
      .references(() => images.id, { onDelete: 'restrict' }),
    hostId: uuid().references(() => hosts.id, { onDelete: 'restrict' }),
    /** The host a cold migration in flight is copying the VM to: its capacity is booked there
     *  too until the VM switches hosts (placement counts both), and no other VM can take it. */
    migrationHostId: uuid().references(() => hosts.id, { onDelete: 'restrict' }),
    desiredState: vmDesiredState().notNull().default('running'),
    observedState: vmObservedState().notNull().default('building'),
    mcsC1: smallint(),
    mcsC2: smallint(),
    specRevision: integer().notNull().default(1),
    /** While a resize runs: the flavor it came from, so a failed resize can put it back (and
     *  give the quota difference back once). Null otherwise. */
    resizeFromFlavorId: uuid().references(() => flavors.id, { onDelete: 'restrict' }),
    restartPolicy: vmRestartPolicy().notNull().default('always'),
    tags: text()
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    userData: text(),
    /**
     * What the VM's host weakened when it last started it, as the agent's ensure-running answered
     * (e.g. no sVirt on a host whose operator allowed it, no bandwidth limit on a kernel without
     * sfq). Replaced on every start; `[]` when the host enforced everything.
     */
    weakenings: jsonb()
      .$type<{ mechanism: string; reason: string }[]>()
      .notNull()
      .default(sql`'[]'::jsonb`),
    ...timestamps(),
  },
  (t) => [
    unique('vms_tenant_name').on(t.tenantId, t.name),
    unique('vms_mcs_pair').on(t.mcsC1, t.mcsC2),
    check(
      'vms_mcs_pair_valid',
      sql`(${t.mcsC1} IS NULL AND ${t.mcsC2} IS NULL) OR (${t.mcsC1} >= 0 AND ${t.mcsC1} < ${t.mcsC2} AND ${t.mcsC2} <= 1023)`,
    ),
    check('vms_name_format', sql`${t.name} ~ '^[a-z][a-z0-9-]{0,61}[a-z0-9]$'`),
    check(
      'vms_user_data_size',
      sql`octet_length(${t.userData}) <= ${sql.raw(String(USER_DATA_MAX_BYTES))}`,
    ),
    tenantIsolation('vms'),
  ],
).enableRLS();
