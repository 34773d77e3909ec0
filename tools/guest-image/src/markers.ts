/**
 * The lines Palisade Tiny's /init prints on ttyS0 (see rootfs/init), parsed. Tests and the agent
 * read guest state from these lines only; keep this parser and /init in step.
 *
 * Pure: no I/O.
 */
export const MARKER_PREFIX = 'PALISADE-TINY';

export interface ReadyMarker {
  hostname: string;
  /** `a.b.c.d/nn`, or null when no NIC matched the seed's MAC. */
  ip: string | null;
  mac: string | null;
  instance: string | null;
}

export interface Markers {
  boot?: { image: string; kernel: string; uptimeSeconds: number };
  disks?: { seed: string | null; data: string | null };
  ready?: ReadyMarker;
  userdataDone?: { rc: number };
  userdataSkipped: boolean;
  errors: string[];
  warnings: string[];
}

const LINE = /PALISADE-TINY ([A-Z][A-Z-]*)(?: (.*))?$/;

/** `a=b c=d` → {a: 'b', c: 'd'}; values never contain spaces (/init prints no such value). */
function fields(rest: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of rest.trim().split(/\s+/)) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

const orNull = (v: string | undefined) => (v === undefined || v === 'none' ? null : v);

/** Everything /init has reported so far in `serial` (a whole console log, CRLF or LF). */
export function parseMarkers(serial: string): Markers {
  const m: Markers = { userdataSkipped: false, errors: [], warnings: [] };
  for (const raw of serial.split('\n')) {
    const hit = LINE.exec(raw.replace(/\r+$/, ''));
    if (!hit) continue;
    const [, kind, rest = ''] = hit;
    const f = fields(rest);
    switch (kind) {
      case 'BOOT':
        m.boot = {
          image: f.image ?? '',
          kernel: f.kernel ?? '',
          uptimeSeconds: Number(f.uptime ?? NaN),
        };
        break;
      case 'DISKS':
        m.disks = { seed: orNull(f.seed), data: orNull(f.data) };
        break;
      case 'READY':
        m.ready = {
          hostname: f.hostname ?? '',
          ip: orNull(f.ip),
          mac: orNull(f.mac),
          instance: orNull(f.instance),
        };
        break;
      case 'USERDATA-DONE':
        m.userdataDone = { rc: Number(f.rc ?? NaN) };
        break;
      case 'USERDATA-SKIPPED':
        m.userdataSkipped = true;
        break;
      case 'ERROR':
        m.errors.push(rest);
        break;
      case 'WARN':
        m.warnings.push(rest);
        break;
    }
  }
  return m;
}
