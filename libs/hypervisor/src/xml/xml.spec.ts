import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  el,
  escapeAttr,
  escapeText,
  parseXml,
  textEl,
  writeXml,
  XmlError,
  type XmlElement,
} from './xml';

describe('escaping', () => {
  it('escapes the XML metacharacters in text and attributes', () => {
    expect(escapeText(`a & b < c > d "e" 'f'`)).toBe(`a &amp; b &lt; c &gt; d "e" 'f'`);
    expect(escapeAttr(`a & b < c > d "e" 'f'`)).toBe(
      'a &amp; b &lt; c &gt; d &quot;e&quot; &apos;f&apos;',
    );
  });

  it('keeps tabs and newlines in attributes as character references so readers do not fold them', () => {
    const xml = writeXml(el('x', { v: 'a\tb\nc\rd' }));
    expect(xml).toBe("<x v='a&#9;b&#10;c&#13;d'/>\n");
    expect(parseXml(xml).attrs.v).toBe('a\tb\nc\rd');
  });

  it('never lets text close a CDATA-like sequence or a tag', () => {
    const xml = writeXml(textEl('t', ']]></t><evil/>'));
    expect(xml).toBe('<t>]]&gt;&lt;/t&gt;&lt;evil/&gt;</t>\n');
    expect(parseXml(xml)).toEqual({ name: 't', attrs: {}, children: [], text: ']]></t><evil/>' });
  });

  it('round-trips a name with every metacharacter through attribute and text', () => {
    const name = `Tom & Jerry's <"VM">`;
    const tree = el('domain', { title: name }, [textEl('description', name)]);
    const xml = writeXml(tree);
    expect(xml).toContain("title='Tom &amp; Jerry&apos;s &lt;&quot;VM&quot;&gt;'");
    expect(xml).toContain('<description>Tom &amp; Jerry\'s &lt;"VM"&gt;</description>');
    expect(parseXml(xml)).toEqual(tree);
  });

  it('refuses characters XML cannot carry instead of writing a broken document', () => {
    expect(() => writeXml(textEl('t', 'bell\u0007'))).toThrow(XmlError);
    expect(() => writeXml(el('t', { a: 'nul\u0000' }))).toThrow(/cannot represent/);
    expect(() => writeXml(textEl('t', '\ud800'))).toThrow(/surrogate/);
    expect(() => writeXml(el('bad name'))).toThrow(/invalid element name/);
    expect(() => writeXml({ name: 'x', attrs: {}, children: [el('y')], text: 'z' })).toThrow(
      /both text and child/,
    );
  });

  it('writes astral characters as themselves and reads them back', () => {
    const tree = textEl('t', 'emoji 🛡️ and 漢字');
    expect(parseXml(writeXml(tree))).toEqual(tree);
  });
});

describe('parseXml', () => {
  it('skips the declaration, comments and processing instructions, and drops indentation', () => {
    const e = parseXml(`<?xml version="1.0"?>
      <!-- libvirt adds a warning comment to files it writes -->
      <a x="1"><?pi here?>
        <b>text</b>
        <!-- inner -->
        <c/>
      </a>
    `);
    expect(e).toEqual({
      name: 'a',
      attrs: { x: '1' },
      children: [
        { name: 'b', attrs: {}, children: [], text: 'text' },
        { name: 'c', attrs: {}, children: [] },
      ],
    });
  });

  it('decodes predefined entities, numeric references and CDATA', () => {
    expect(parseXml('<t>&lt;&amp;&gt;&quot;&apos;&#65;&#x42;<![CDATA[<raw & ok>]]></t>').text).toBe(
      `<&>"'AB<raw & ok>`,
    );
  });

  it('normalises literal whitespace in attributes to spaces, as XML requires', () => {
    expect(parseXml('<t a="x\ny\tz"/>').attrs.a).toBe('x y z');
  });

  it('keeps leaf text verbatim, including surrounding spaces', () => {
    expect(parseXml('<cmdline> console=ttyS0 </cmdline>').text).toBe(' console=ttyS0 ');
  });

  it('refuses DOCTYPE, so no entity expansion can happen', () => {
    expect(() => parseXml('<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')).toThrow(
      /DOCTYPE is not accepted/,
    );
  });

  it.each([
    ['<a>', /unterminated <a>/],
    ['<a></b>', /<\/b> closes <a>/],
    ['<a x=1/>', /quoted value/],
    ['<a x="1" x="2"/>', /duplicate attribute/],
    ['<a>&nope;</a>', /unknown entity/],
    ['<a>&amp</a>', /unterminated reference/],
    ['<a>&#0;</a>', /not allowed/],
    ['<a/><b/>', /content after the root/],
    ['', /empty document/],
    ['<a x="<"/>', /< in value/],
  ])('rejects %j', (xml, message) => {
    expect(() => parseXml(xml)).toThrow(message);
  });

  it('says where the problem is', () => {
    expect(() => parseXml('<a>\n  <b>\n  </a>')).toThrow(/line 3, column 3/);
  });
});

// Any tree the writer accepts, the reader returns unchanged.
const xmlChar = fc
  .string({ unit: 'binary', maxLength: 20 })
  .map((s) => s.replace(/[\0-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, ''));
const name = fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,8}(:[a-z][a-z0-9]{0,5})?$/);
const tree: fc.Arbitrary<XmlElement> = fc.letrec<{ node: XmlElement }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    fc.record({
      name,
      attrs: fc.dictionary(name, xmlChar, { maxKeys: 3 }),
      children: fc.constant([] as XmlElement[]),
      text: xmlChar.filter((t) => t !== ''),
    }),
    fc.record({
      name,
      attrs: fc.dictionary(name, xmlChar, { maxKeys: 3 }),
      children: fc.array(tie('node'), { maxLength: 3 }),
    }),
  ),
})).node;

describe('writer and reader agree', () => {
  it('parseXml(writeXml(t)) equals t for generated trees', () => {
    fc.assert(
      fc.property(tree, (t) => {
        expect(parseXml(writeXml(t))).toEqual(t);
      }),
      { numRuns: 300 },
    );
  });
});
