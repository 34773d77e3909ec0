/**
 * Who may use the admin console. Pure. The API's `isPlatformAdmin` is the authority (it verified
 * the token and owns the policy); the console never reads roles out of the token itself.
 */
import type { MeOutput } from '@palisade/contracts';
import { displayName } from '@palisade/ui';

export type ConsoleAccess = { kind: 'operator' } | { kind: 'refused'; name: string };

export function consoleAccess(me: MeOutput): ConsoleAccess {
  return me.isPlatformAdmin
    ? { kind: 'operator' }
    : { kind: 'refused', name: displayName(me.principal) };
}
