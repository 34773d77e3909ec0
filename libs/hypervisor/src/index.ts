/**
 * @palisade/hypervisor: the libvirt domain model (pure object <-> XML), the designer (VmSpec ->
 * domain) and the `Hypervisor` port the agent implements. The model and designer do no I/O.
 */
export * from './designer';
export * from './domain';
export type * from './hypervisor';
export * from './libvirt';
export * from './simulated';
export * from './host-network';
export * from './isolation';
export { parseXml, writeXml, XmlError, type XmlElement } from './xml/xml';
export * from './seed/nocloud';
