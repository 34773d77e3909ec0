// The virsh event parser on lines captured from `virsh -c qemu:///system event --all --loop
// --timestamp` on this host (libvirt 9.0.0) during define, define, start, shutdown request,
// destroy and undefine of one domain, and the stderr lines the stream reads its state from.
import { describe, expect, it } from 'vitest';
import { classifyStderrLine, parseEventLine } from './events';

const NAME = 'palisade-exp-1993f760-bde3-4582-baa3-fc994eddb18c';
const CAPTURED = `2026-11-21 20:17:32.120+0000: event 'lifecycle' for domain '${NAME}': Defined Added
2026-11-21 20:17:32.133+0000: event 'lifecycle' for domain '${NAME}': Defined Updated
2026-11-21 20:17:32.382+0000: event 'lifecycle' for domain '${NAME}': Resumed Unpaused
2026-11-21 20:17:32.383+0000: event 'lifecycle' for domain '${NAME}': Started Booted
2026-11-21 20:17:38.268+0000: event 'lifecycle' for domain '${NAME}': Shutdown Finished after host request
2026-11-21 20:17:38.271+0000: event 'lifecycle' for domain '${NAME}': Stopped Destroyed
2026-11-21 20:17:38.299+0000: event 'lifecycle' for domain '${NAME}': Undefined Removed`;

describe('parseEventLine', () => {
  it("maps captured lines to libvirt's event/detail vocabulary with their timestamps", () => {
    const events = CAPTURED.split('\n').map(parseEventLine);
    expect(events.map((e) => `${e?.event}/${e?.detail}`)).toEqual([
      'defined/added',
      'defined/updated',
      'resumed/unpaused',
      'started/booted',
      'shutdown/host',
      'stopped/destroyed',
      'undefined/removed',
    ]);
    expect(events.every((e) => e?.name === NAME)).toBe(true);
    expect(events[0]?.at.toISOString()).toBe('2026-11-21T20:17:32.120Z');
  });

  it('reads a non-UTC offset and a name containing quotes and colons', () => {
    const e = parseEventLine(
      "2026-11-21 21:17:32.120+0100: event 'lifecycle' for domain 'it's: odd': Crashed Panicked",
    );
    expect(e).toMatchObject({ name: "it's: odd", event: 'crashed', detail: 'panicked' });
    expect(e?.at.toISOString()).toBe('2026-11-21T20:17:32.120Z');
  });

  it('ignores lines that are not lifecycle events', () => {
    expect(parseEventLine('')).toBeUndefined();
    expect(parseEventLine("2026-11-21 20:17:32.120+0000: event 'reboot' for domain 'x'")).toBe(
      undefined,
    );
    expect(parseEventLine('events received: 7')).toBeUndefined();
  });
});

describe('classifyStderrLine', () => {
  it('recognises the registration reply in the RPC client log (procedure 316)', () => {
    expect(
      classifyStderrLine(
        '2026-11-21 20:18:36.900+0000: 24195: info : virNetClientCallDispatch:1299 : RPC_CLIENT_MSG_RX: client=0x558b216da010 len=32 prog=536903814 vers=1 proc=316 type=1 status=0 serial=6',
      ),
    ).toEqual({ kind: 'registered' });
    // The request going out is not the reply.
    expect(
      classifyStderrLine(
        '2026-11-21 20:18:36.900+0000: 24195: info : virNetClientSendInternal:2145 : RPC_CLIENT_MSG_TX_QUEUE: client=0x558b216da010 len=36 prog=536903814 vers=1 proc=316 type=0 status=0 serial=6',
      ),
    ).toEqual({ kind: 'log' });
    expect(
      classifyStderrLine(
        '2026-11-21 20:18:36.899+0000: 24195: info : libvirt version: 9.0.0, package: 9.0.0-4+deb12u2 (Debian)',
      ),
    ).toEqual({ kind: 'log' });
  });

  it("tells virsh's disconnect report from other errors", () => {
    expect(
      classifyStderrLine('error: Disconnected from qemu:///system due to end of file'),
    ).toEqual({
      kind: 'disconnected',
      text: 'Disconnected from qemu:///system due to end of file',
    });
    expect(classifyStderrLine('error: failed to connect to the hypervisor')).toEqual({
      kind: 'error',
      text: 'failed to connect to the hypervisor',
    });
  });
});
