/**
 * `<cpu>`: the guest CPU model and its feature overrides. Used by the designer to switch nested
 * virtualisation off (`vmx`/`svm` disabled) whatever the base model.
 */
import { child, childrenNamed, el, textEl } from '../xml/xml';
import { expectName, oneOf, optionalOneOf, requiredAttr, type Codec } from './codec';

export const CPU_MODES = ['custom', 'host-model', 'host-passthrough', 'maximum'] as const;
export const CPU_MATCHES = ['minimum', 'exact', 'strict'] as const;
export const CPU_CHECKS = ['none', 'partial', 'full'] as const;
export const CPU_FEATURE_POLICIES = ['force', 'require', 'optional', 'disable', 'forbid'] as const;

export interface CpuFeature {
  policy: (typeof CPU_FEATURE_POLICIES)[number];
  name: string;
}

export interface Cpu {
  mode?: (typeof CPU_MODES)[number];
  match?: (typeof CPU_MATCHES)[number];
  check?: (typeof CPU_CHECKS)[number];
  model?: { name: string; fallback?: 'allow' | 'forbid' };
  features: CpuFeature[];
}

export const cpuCodec: Codec<Cpu> = {
  element: 'cpu',
  toElement: (c) =>
    el('cpu', { mode: c.mode, match: c.match, check: c.check }, [
      c.model === undefined
        ? undefined
        : textEl('model', c.model.name, { fallback: c.model.fallback }),
      ...c.features.map((f) => el('feature', { policy: f.policy, name: f.name })),
    ]),
  fromElement: (e) => {
    expectName(e, 'cpu');
    const out: Cpu = {
      features: childrenNamed(e, 'feature').map((f) => ({
        // libvirt's default policy for a guest CPU feature.
        policy: oneOf(f.attrs.policy ?? 'require', CPU_FEATURE_POLICIES, 'cpu feature policy'),
        name: requiredAttr(f, 'name'),
      })),
    };
    const mode = optionalOneOf(e.attrs.mode, CPU_MODES, 'cpu mode');
    const match = optionalOneOf(e.attrs.match, CPU_MATCHES, 'cpu match');
    const check = optionalOneOf(e.attrs.check, CPU_CHECKS, 'cpu check');
    if (mode !== undefined) out.mode = mode;
    if (match !== undefined) out.match = match;
    if (check !== undefined) out.check = check;
    const model = child(e, 'model');
    if (model?.text !== undefined) {
      const fallback = optionalOneOf(
        model.attrs.fallback,
        ['allow', 'forbid'] as const,
        'cpu model fallback',
      );
      out.model = fallback === undefined ? { name: model.text } : { name: model.text, fallback };
    }
    return out;
  },
};
