/**
 * A small XML tree, writer and reader for libvirt documents: element-only content (leaf elements
 * carry text), attributes in insertion order, qualified names kept as written.
 *
 * Why not a dependency: libvirt XML uses a tiny subset of XML, and the parts that matter here are
 * exactly the parts general-purpose libraries make configurable (escaping, whitespace, attribute
 * order). Owning ~250 lines keeps the output byte-for-byte deterministic for the golden tests.
 *
 * Must never: expand DTD entities (a DOCTYPE is refused, so no billion-laughs), do I/O, or write a
 * document it could not read back to the same tree.
 */

export interface XmlElement {
  name: string;
  /** Attribute name -> value, in the order they are written. */
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Character data of a leaf element. An element has children or text, never both. */
  text?: string;
}

export class XmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlError';
  }
}

type AttrInput = Record<string, string | number | undefined>;

/** Builds an element; attributes whose value is `undefined` are left out. */
export function el(
  name: string,
  attrs: AttrInput = {},
  children: (XmlElement | undefined)[] = [],
): XmlElement {
  return { name, attrs: cleanAttrs(attrs), children: children.filter((c) => c !== undefined) };
}

/** Builds a leaf element holding text. */
export function textEl(name: string, text: string | number, attrs: AttrInput = {}): XmlElement {
  return { name, attrs: cleanAttrs(attrs), children: [], text: String(text) };
}

function cleanAttrs(attrs: AttrInput): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) out[k] = String(v);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writer

// XML 1.0 cannot represent these at all, not even as character references.
const FORBIDDEN_CHARS = /[\0-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function assertRepresentable(s: string, where: string): void {
  if (FORBIDDEN_CHARS.test(s))
    throw new XmlError(`${where} contains a character XML cannot represent`);
  // A lone surrogate would be written as invalid UTF-8.
  if (LONE_SURROGATE.test(s)) throw new XmlError(`${where} contains a lone UTF-16 surrogate`);
}

export function escapeText(s: string): string {
  // `\r` would be normalised to `\n` by any reader; `>` is escaped so `]]>` can never appear.
  return s.replace(/[&<>\r]/g, (c) => ENTITY_FOR[c]!);
}

export function escapeAttr(s: string): string {
  // Attribute values are single-quoted like libvirt's own output. Tab and newlines must be
  // character references or a reader normalises them to spaces.
  return s.replace(/[&<>'"\t\n\r]/g, (c) => ENTITY_FOR[c]!);
}

const ENTITY_FOR: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  "'": '&apos;',
  '"': '&quot;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*(:[A-Za-z_][A-Za-z0-9_.-]*)?$/;

/** Serialises a tree with two-space indentation and a trailing newline, like `virsh dumpxml`. */
export function writeXml(root: XmlElement): string {
  const out: string[] = [];
  write(root, 0, out);
  return out.join('');
}

function write(e: XmlElement, depth: number, out: string[]): void {
  if (!NAME.test(e.name)) throw new XmlError(`invalid element name ${JSON.stringify(e.name)}`);
  const pad = '  '.repeat(depth);
  let open = `${pad}<${e.name}`;
  for (const [k, v] of Object.entries(e.attrs)) {
    if (!NAME.test(k))
      throw new XmlError(`invalid attribute name ${JSON.stringify(k)} on <${e.name}>`);
    assertRepresentable(v, `attribute ${k} of <${e.name}>`);
    open += ` ${k}='${escapeAttr(v)}'`;
  }
  if (e.text !== undefined && e.children.length > 0)
    throw new XmlError(`<${e.name}> has both text and child elements`);
  if (e.text !== undefined && e.text !== '') {
    assertRepresentable(e.text, `text of <${e.name}>`);
    out.push(`${open}>${escapeText(e.text)}</${e.name}>\n`);
  } else if (e.children.length === 0) {
    out.push(`${open}/>\n`);
  } else {
    out.push(`${open}>\n`);
    for (const c of e.children) write(c, depth + 1, out);
    out.push(`${pad}</${e.name}>\n`);
  }
}

// ---------------------------------------------------------------------------------------------
// Reader

/**
 * Parses one document. Comments, processing instructions and the XML declaration are skipped;
 * whitespace between elements is dropped; CDATA and character references are decoded. Mixed
 * content (text beside child elements) keeps the children and drops the text, which libvirt
 * never produces outside `<description>`.
 */
export function parseXml(input: string): XmlElement {
  const src = input.replace(/\r\n?/g, '\n');
  let pos = 0;

  const fail = (msg: string, at = pos): never => {
    const before = src.slice(0, at);
    const line = before.split('\n').length;
    const col = at - before.lastIndexOf('\n');
    throw new XmlError(`${msg} at line ${line}, column ${col}`);
  };

  const skipMisc = () => {
    for (;;) {
      while (pos < src.length && /\s/.test(src[pos]!)) pos++;
      if (src.startsWith('<?', pos)) {
        const end = src.indexOf('?>', pos);
        if (end < 0) fail('unterminated processing instruction');
        pos = end + 2;
      } else if (src.startsWith('<!--', pos)) {
        const end = src.indexOf('-->', pos);
        if (end < 0) fail('unterminated comment');
        pos = end + 3;
      } else if (src.startsWith('<!DOCTYPE', pos)) {
        fail('DOCTYPE is not accepted');
      } else return;
    }
  };

  const readName = (): string => {
    const m = /^[A-Za-z_][A-Za-z0-9_.:-]*/.exec(src.slice(pos, pos + 256));
    if (!m) return fail('expected a name');
    pos += m[0].length;
    return m[0];
  };

  const decode = (raw: string, inAttr: boolean): string => {
    const normalised = inAttr ? raw.replace(/[\t\n]/g, ' ') : raw;
    return normalised.replace(/&([^;&<]*);?/g, (whole, ref: string) => {
      if (!whole.endsWith(';')) return fail(`unterminated reference &${ref}`);
      switch (ref) {
        case 'amp':
          return '&';
        case 'lt':
          return '<';
        case 'gt':
          return '>';
        case 'apos':
          return "'";
        case 'quot':
          return '"';
      }
      const m = /^#(x[0-9a-fA-F]+|[0-9]+)$/.exec(ref);
      if (!m) return fail(`unknown entity &${ref};`);
      const code = m[1]!.startsWith('x') ? parseInt(m[1]!.slice(1), 16) : parseInt(m[1]!, 10);
      if (code > 0x10ffff) return fail(`character reference &${ref}; out of range`);
      const ch = String.fromCodePoint(code);
      if (FORBIDDEN_CHARS.test(ch) || (code >= 0xd800 && code <= 0xdfff))
        return fail(`character reference &${ref}; is not allowed in XML`);
      return ch;
    });
  };

  const readElement = (): XmlElement => {
    if (src[pos] !== '<') fail('expected <');
    pos++;
    const name = readName();
    const attrs: Record<string, string> = {};
    for (;;) {
      const ws = pos;
      while (pos < src.length && /\s/.test(src[pos]!)) pos++;
      if (src.startsWith('/>', pos)) {
        pos += 2;
        return { name, attrs, children: [] };
      }
      if (src[pos] === '>') {
        pos++;
        break;
      }
      if (pos === ws) fail(`expected whitespace, > or /> in <${name}>`);
      const attr = readName();
      while (/\s/.test(src[pos] ?? '')) pos++;
      if (src[pos] !== '=') fail(`expected = after attribute ${attr}`);
      pos++;
      while (/\s/.test(src[pos] ?? '')) pos++;
      const q = src[pos];
      if (q !== '"' && q !== "'") return fail(`expected a quoted value for attribute ${attr}`);
      const end = src.indexOf(q, pos + 1);
      if (end < 0) fail(`unterminated value of attribute ${attr}`);
      const raw = src.slice(pos + 1, end);
      if (raw.includes('<')) fail(`< in value of attribute ${attr}`);
      if (attr in attrs) fail(`duplicate attribute ${attr} in <${name}>`);
      attrs[attr] = decode(raw, true);
      pos = end + 1;
    }

    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      if (pos >= src.length) fail(`unterminated <${name}>`);
      if (src.startsWith('</', pos)) {
        const at = pos;
        pos += 2;
        const close = readName();
        if (close !== name) fail(`</${close}> closes <${name}>`, at);
        while (/\s/.test(src[pos] ?? '')) pos++;
        if (src[pos] !== '>') fail(`expected > in </${close}>`);
        pos++;
        break;
      }
      if (src.startsWith('<!--', pos)) {
        const end = src.indexOf('-->', pos);
        if (end < 0) fail('unterminated comment');
        pos = end + 3;
      } else if (src.startsWith('<![CDATA[', pos)) {
        const end = src.indexOf(']]>', pos);
        if (end < 0) fail('unterminated CDATA section');
        text += src.slice(pos + 9, end);
        pos = end + 3;
      } else if (src.startsWith('<?', pos)) {
        const end = src.indexOf('?>', pos);
        if (end < 0) fail('unterminated processing instruction');
        pos = end + 2;
      } else if (src[pos] === '<') {
        children.push(readElement());
      } else {
        const next = src.indexOf('<', pos);
        const end = next < 0 ? src.length : next;
        text += decode(src.slice(pos, end), false);
        pos = end;
      }
    }
    if (children.length > 0) return { name, attrs, children };
    return text === '' ? { name, attrs, children } : { name, attrs, children, text };
  };

  skipMisc();
  if (pos >= src.length) fail('empty document');
  const root = readElement();
  skipMisc();
  if (pos < src.length) fail('content after the root element');
  return root;
}

// ---------------------------------------------------------------------------------------------
// Navigation helpers for the model's parsers

export function child(e: XmlElement, name: string): XmlElement | undefined {
  return e.children.find((c) => c.name === name);
}

export function childrenNamed(e: XmlElement, name: string): XmlElement[] {
  return e.children.filter((c) => c.name === name);
}

export function childText(e: XmlElement, name: string): string | undefined {
  const c = child(e, name);
  return c === undefined ? undefined : (c.text ?? '');
}
