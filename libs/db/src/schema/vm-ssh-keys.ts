import { integer, pgTable, text, unique, uuid } from 'drizzle-orm/pg-core';
import { id, timestamps } from './columns';
import { sshKeys } from './ssh-keys';
import { tenantId, tenantIsolation } from './tenant-columns';
import { vms } from './vms';

/**
 * The SSH keys a VM was created with, which its NoCloud seed carries on every (re)start.
 *
 * The public key, its fingerprint and its name are a snapshot taken when the VM is created: a
 * VM keeps the keys it booted with. Deleting the tenant's key later is allowed and changes
 * nothing in an existing VM's seed; it only clears `sshKeyId` (ON DELETE SET NULL), so the VM
 * still lists the key by fingerprint and name but no longer points at a live key. The row goes
 * with its VM (cascade).
 */
export const vmSshKeys = pgTable(
  'vm_ssh_keys',
  {
    id: id(),
    tenantId: tenantId(),
    vmId: uuid()
      .notNull()
      .references(() => vms.id, { onDelete: 'cascade' }),
    /** Order of the key in the create request; the seed lists the keys in this order. */
    position: integer().notNull(),
    /** The tenant's key this was copied from; null once that key is deleted. */
    sshKeyId: uuid().references(() => sshKeys.id, { onDelete: 'set null' }),
    name: text().notNull(),
    publicKey: text().notNull(),
    /** SHA256 fingerprint, as `ssh-keygen -lf` prints it. */
    fingerprint: text().notNull(),
    ...timestamps(),
  },
  (t) => [
    unique('vm_ssh_keys_vm_fingerprint').on(t.vmId, t.fingerprint),
    unique('vm_ssh_keys_vm_position').on(t.vmId, t.position),
    tenantIsolation('vm_ssh_keys'),
  ],
).enableRLS();
