/**
 * `<seclabel>`: the domain's security label, one per security driver. The model writes whatever it
 * is given; which label a VM gets is the designer's decision.
 */
import { child, childText, el, textEl, type XmlElement } from '../xml/xml';
import { expectName, oneOf, optionalOneOf, parseYesNo, yesNo, type Codec } from './codec';

export const SECLABEL_MODELS = ['selinux', 'apparmor', 'dac', 'none'] as const;
export const SECLABEL_TYPES = ['static', 'dynamic', 'none'] as const;

export interface SecLabel {
  type: (typeof SECLABEL_TYPES)[number];
  model?: (typeof SECLABEL_MODELS)[number];
  relabel?: boolean;
  /** Process label (SELinux context or AppArmor profile). Output-only for dynamic labels. */
  label?: string;
  /** File label for the domain's images. With a static SELinux label libvirt derives it from the
   *  label's MCS range when absent; Palisade writes it so the XML states the label in full. */
  imagelabel?: string;
  baselabel?: string;
}

export const secLabelCodec: Codec<SecLabel> = {
  element: 'seclabel',
  toElement: (s) =>
    el('seclabel', { type: s.type, model: s.model, relabel: yesNo(s.relabel) }, [
      s.label === undefined ? undefined : textEl('label', s.label),
      s.imagelabel === undefined ? undefined : textEl('imagelabel', s.imagelabel),
      s.baselabel === undefined ? undefined : textEl('baselabel', s.baselabel),
    ]),
  fromElement: (e: XmlElement) => {
    expectName(e, 'seclabel');
    const out: SecLabel = {
      // libvirt's default when type is omitted.
      type: oneOf(e.attrs.type ?? 'dynamic', SECLABEL_TYPES, 'seclabel type'),
    };
    const model = optionalOneOf(e.attrs.model, SECLABEL_MODELS, 'seclabel model');
    if (model !== undefined) out.model = model;
    const relabel = parseYesNo(e.attrs.relabel, 'seclabel relabel');
    if (relabel !== undefined) out.relabel = relabel;
    if (child(e, 'label')) out.label = childText(e, 'label');
    if (child(e, 'imagelabel')) out.imagelabel = childText(e, 'imagelabel');
    if (child(e, 'baselabel')) out.baselabel = childText(e, 'baselabel');
    return out;
  },
};
