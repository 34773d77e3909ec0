/**
 * Test-only crash points: with WORKER_FAULT_KILL_AT=<kind>:<step>:<point> the worker SIGKILLs
 * itself the first time an operation of that kind reaches that point of that step, so the crash
 * tests (docs/operations/crash-safety.md) can kill a real worker at an exact step boundary
 * instead of at a random moment. Points:
 * - `before`: the step is recorded `running`; nothing of it ran;
 * - `after-host`: the step's first host (agent) call answered, before the step writes its rows;
 * - `after`: the step's work is done, before the engine records it `done`.
 *
 * The config refuses the variable unless NODE_ENV=test, so a production worker can never be
 * armed by a stray variable. Unarmed (always, in production) every hook is a no-op.
 *
 * Must never: change what a step does; fire more than once per process.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { z } from 'zod';

export const FAULT_POINTS = ['before', 'after-host', 'after'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

export interface FaultSpec {
  kind: string;
  step: string;
  point: FaultPoint;
}

/** `vm.create:volume:after-host` -> { kind, step, point }, or the reason it is not one. */
export const faultSpecSchema = z
  .string()
  .regex(
    /^[a-z_.]+:[a-z-]+:(before|after-host|after)$/,
    `must be <kind>:<step>:<point>, point one of ${FAULT_POINTS.join(', ')}`,
  )
  .transform((s): FaultSpec => {
    const [kind, step, point] = s.split(':') as [string, string, FaultPoint];
    return { kind, step, point };
  });

let armed: FaultSpec | undefined;
let onFire: (spec: FaultSpec) => void = (spec) => {
  // Said on stderr first, so the test can tell the planned death from a real crash.
  process.stderr.write(`palisade-worker: fault injection: SIGKILL at ${format(spec)}\n`);
  process.kill(process.pid, 'SIGKILL');
};
const current = new AsyncLocalStorage<{ kind: string; step: string; hostCalled: boolean }>();

const format = (s: FaultSpec) => `${s.kind}:${s.step}:${s.point}`;

/** Arms the one crash point of this process; `fire` replaces the SIGKILL (unit tests). */
export function armFault(spec: FaultSpec, fire?: (spec: FaultSpec) => void): void {
  armed = spec;
  if (fire) onFire = fire;
}

export function disarmFault(): void {
  armed = undefined;
}

function check(kind: string, step: string, point: FaultPoint): void {
  const a = armed;
  if (!a || a.kind !== kind || a.step !== step || a.point !== point) return;
  armed = undefined;
  onFire(a);
}

/** Runs one step of one operation between its `before` and `after` points; the host calls
 *  inside it reach `after-host` through `afterHostCall`. */
export async function aroundStep<T>(kind: string, step: string, run: () => Promise<T>): Promise<T> {
  if (!armed) return run();
  check(kind, step, 'before');
  const result = await current.run({ kind, step, hostCalled: false }, run);
  check(kind, step, 'after');
  return result;
}

/** Called by the agent client when a host call answered with success. */
export function afterHostCall(): void {
  const s = armed && current.getStore();
  if (!s || s.hostCalled) return;
  s.hostCalled = true;
  check(s.kind, s.step, 'after-host');
}
