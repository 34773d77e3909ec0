export { LibvirtHypervisor, type LibvirtHypervisorOptions, type SegmentDriver } from './libvirt';
