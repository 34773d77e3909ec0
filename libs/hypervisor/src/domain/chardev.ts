/**
 * `<serial>` and `<console>` on a pty: the guest's serial console, which the agent relays to the
 * console proxy. A running domain reports the pty it allocated in `<source path=…>`.
 */
import { child, el } from '../xml/xml';
import { expectName, invalid, optionalInteger, type Codec } from './codec';

export interface Serial {
  type: 'pty';
  targetPort: number;
  /** The allocated pty, present only in a running domain's XML. */
  sourcePath?: string;
}

export interface Console {
  type: 'pty';
  targetType: 'serial' | 'virtio';
  targetPort: number;
  sourcePath?: string;
}

function ptyType(type: string | undefined, where: string): 'pty' {
  if (type !== 'pty') throw invalid(`${where} type ${JSON.stringify(type)} is not supported`);
  return type;
}

export const serialCodec: Codec<Serial> = {
  element: 'serial',
  toElement: (s) =>
    el('serial', { type: s.type }, [
      s.sourcePath === undefined ? undefined : el('source', { path: s.sourcePath }),
      el('target', { port: s.targetPort }),
    ]),
  fromElement: (e) => {
    expectName(e, 'serial');
    const out: Serial = {
      type: ptyType(e.attrs.type, 'serial'),
      targetPort: optionalInteger(child(e, 'target')?.attrs.port, 'serial target port') ?? 0,
    };
    const path = child(e, 'source')?.attrs.path;
    if (path !== undefined) out.sourcePath = path;
    return out;
  },
};

export const consoleCodec: Codec<Console> = {
  element: 'console',
  toElement: (c) =>
    el('console', { type: c.type }, [
      c.sourcePath === undefined ? undefined : el('source', { path: c.sourcePath }),
      el('target', { type: c.targetType, port: c.targetPort }),
    ]),
  fromElement: (e) => {
    expectName(e, 'console');
    const target = child(e, 'target');
    const targetType = target?.attrs.type ?? 'serial';
    if (targetType !== 'serial' && targetType !== 'virtio')
      throw invalid(`console target type ${JSON.stringify(targetType)} is not supported`);
    const out: Console = {
      type: ptyType(e.attrs.type, 'console'),
      targetType,
      targetPort: optionalInteger(target?.attrs.port, 'console target port') ?? 0,
    };
    const path = child(e, 'source')?.attrs.path;
    if (path !== undefined) out.sourcePath = path;
    return out;
  },
};
