/**
 * `<graphics type='vnc'>` with explicit `<listen>` elements. The model can express any listen
 * address; keeping VNC on loopback or a unix socket is the designer's rule, and `isLocalOnly`
 * lets callers check a parsed domain against it.
 */
import { childrenNamed, el, type XmlElement } from '../xml/xml';
import {
  expectName,
  invalid,
  optionalInteger,
  parseYesNo,
  requiredAttr,
  yesNo,
  type Codec,
} from './codec';

export type GraphicsListen =
  { type: 'address'; address: string } | { type: 'socket'; socket: string } | { type: 'none' };

export interface Graphics {
  type: 'vnc';
  autoport?: boolean;
  port?: number;
  listens: GraphicsListen[];
}

function listenToElement(l: GraphicsListen): XmlElement {
  switch (l.type) {
    case 'address':
      return el('listen', { type: 'address', address: l.address });
    case 'socket':
      return el('listen', { type: 'socket', socket: l.socket });
    case 'none':
      return el('listen', { type: 'none' });
  }
}

function listenFromElement(e: XmlElement): GraphicsListen {
  switch (e.attrs.type) {
    case 'address':
      return { type: 'address', address: requiredAttr(e, 'address') };
    case 'socket':
      return { type: 'socket', socket: requiredAttr(e, 'socket') };
    case 'none':
      return { type: 'none' };
    default:
      throw invalid(`graphics listen type ${JSON.stringify(e.attrs.type)} is not supported`);
  }
}

export const graphicsCodec: Codec<Graphics> = {
  element: 'graphics',
  toElement: (g) =>
    el(
      'graphics',
      { type: g.type, port: g.port, autoport: yesNo(g.autoport) },
      g.listens.map(listenToElement),
    ),
  fromElement: (e) => {
    expectName(e, 'graphics');
    if (e.attrs.type !== 'vnc')
      throw invalid(`graphics type ${JSON.stringify(e.attrs.type)} is not supported`);
    let listens = childrenNamed(e, 'listen').map(listenFromElement);
    // Older XML (and libvirt's own echo) may carry the listen only as attributes.
    if (listens.length === 0 && e.attrs.socket !== undefined)
      listens = [{ type: 'socket', socket: e.attrs.socket }];
    if (listens.length === 0 && e.attrs.listen !== undefined)
      listens = [{ type: 'address', address: e.attrs.listen }];
    const out: Graphics = { type: 'vnc', listens };
    const port = optionalInteger(e.attrs.port, 'graphics port');
    const autoport = parseYesNo(e.attrs.autoport, 'graphics autoport');
    if (port !== undefined) out.port = port;
    if (autoport !== undefined) out.autoport = autoport;
    return out;
  },
};

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

/** True when every listen is loopback, a unix socket or none: nothing reachable off the host.
 *  No listen at all is false, because QEMU then uses libvirt's `vnc_listen` default from qemu.conf. */
export function isLocalOnly(g: Graphics): boolean {
  return (
    g.listens.length > 0 && g.listens.every((l) => l.type !== 'address' || LOOPBACK.test(l.address))
  );
}
