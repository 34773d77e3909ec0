import { z } from 'zod';

/** Names end up in host-side paths and libvirt XML: a strict charset and length. */
export const resourceNameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(63, 'must be at most 63 characters')
  .regex(
    /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/,
    'must be lowercase letters, digits and dashes, starting and ending with a letter or digit',
  );

export const SSH_KEY_TYPES = [
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
] as const;

export const sshKeyCreateInput = z.object({
  name: resourceNameSchema,
  publicKey: z
    .string()
    .trim()
    .max(16 * 1024, 'must be at most 16 KiB')
    // The comment is printable ASCII: the line goes verbatim into VMs' NoCloud seeds, whose
    // builder (libs/hypervisor seed/nocloud.ts) refuses anything else, and a YAML 1.1 reader
    // takes U+2028/U+0085 for line breaks.
    .regex(
      /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( [\x20-\x7e]*)?$/,
      'must be one OpenSSH public key line: "<type> <base64> [comment]", the comment in printable ASCII',
    ),
});
export type SshKeyCreateInput = z.infer<typeof sshKeyCreateInput>;

export const sshKeySchema = z.object({
  id: z.uuid(),
  name: z.string(),
  publicKey: z.string(),
  fingerprint: z.string(),
  createdAt: z.iso.datetime(),
});
export type SshKey = z.infer<typeof sshKeySchema>;

export const byIdInput = z.object({ id: z.uuid('must be a UUID') });
