/**
 * `<features>`: the firmware features Palisade guests need (ACPI for clean shutdown via the power
 * button, APIC for SMP). Features the model does not know are dropped on parse.
 */
import { child, el } from '../xml/xml';
import { expectName, type Codec } from './codec';

export interface Features {
  acpi: boolean;
  apic: boolean;
}

export const featuresCodec: Codec<Features> = {
  element: 'features',
  toElement: (f) =>
    el('features', {}, [f.acpi ? el('acpi') : undefined, f.apic ? el('apic') : undefined]),
  fromElement: (e) => {
    expectName(e, 'features');
    return { acpi: child(e, 'acpi') !== undefined, apic: child(e, 'apic') !== undefined };
  },
};
