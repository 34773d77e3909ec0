import { AppError, ErrorCode, vmAcceptedSchema, vmCreateInput } from '@palisade/contracts';
import {
  getNetwork,
  getSshKey,
  insertNic,
  insertVm,
  insertVmSshKeys,
  ipsInUse,
  visibleMcsPairs,
  type Tx,
} from '@palisade/db';
import {
  allocateIpv4,
  allocateMac,
  allocateMcsPair,
  cryptoRandomInt,
  ipv4Subnet,
  type McsPair,
} from '@palisade/domain';
import { accept, ACCEPTED_OPENAPI } from '../../../resources/accept';
import { insertAllocated } from '../../../resources/allocate';
import { invalidState, nameConflict, notFound } from '../../../resources/errors';
import { consume } from '../../../resources/ledger';
import { tenantProcedure } from '../../trpc';
import { footprintOf, usableFlavor, usableImage } from './refs';
import { vmView } from './to-dto';

const ALLOCATION_ATTEMPTS = 8;

function exhausted(detail: string): AppError {
  return new AppError(ErrorCode.ALLOCATION_EXHAUSTED, detail, { userMessage: `${detail}.` });
}

/**
 * Creates a VM: checks what it refers to, takes its footprint from the quota ledger, allocates
 * its sVirt category pair, MAC and IPv4 address, and accepts a vm.create operation, all in one
 * transaction. The SSH keys are checked (another tenant's key id is not found) and copied into
 * vm_ssh_keys, from which the worker builds the seed's authorized keys.
 */
export const create = tenantProcedure('vm.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/vms',
      protect: true,
      ...ACCEPTED_OPENAPI,
      tags: ['vms'],
      summary: 'Create a VM (202: accepted as an operation)',
      description:
        'Answers 202 with the vm.create operation; ?wait=true (or "wait": true) waits for it to end. Send an Idempotency-Key header to make retries safe.',
    },
  })
  .input(vmCreateInput)
  .output(vmAcceptedSchema)
  .mutation(({ ctx, input }) => {
    const tenantId = ctx.tenant.id;
    const random = cryptoRandomInt();
    return accept(
      ctx,
      {
        kind: 'vm.create',
        targetType: 'vm',
        input,
        run: async (tx: Tx) => {
          const flavor = await usableFlavor(tx, input.flavorId);
          await usableImage(tx, tenantId, input.imageId);
          const keys = [];
          for (const [i, id] of input.sshKeyIds.entries()) {
            const key = await getSshKey(tx, { tenantId, id, lock: true });
            if (!key) throw notFound('SSH key', id, `sshKeyIds.${i}`);
            keys.push(key);
          }
          await consume(tx, tenantId, footprintOf(flavor));
          // Read the network only now, under the ledger lock: a network delete takes the same
          // lock before marking the network, so what is read here is not about to vanish.
          const network = await getNetwork(tx, { tenantId, id: input.networkId });
          if (!network) throw notFound('network', input.networkId, 'networkId');
          if (network.status === 'error')
            throw invalidState(`networkId: network ${network.name} is in error`);

          const taken: McsPair[] = await visibleMcsPairs(tx, { tenantId });
          const vm = await insertAllocated(
            tx,
            ['vms_mcs_pair'],
            ALLOCATION_ATTEMPTS,
            async (sp) => {
              const pair = allocateMcsPair(taken, { random });
              if (!pair.ok) throw exhausted(pair.detail);
              taken.push(pair.value);
              return insertVm(sp, {
                tenantId,
                name: input.name,
                flavorId: flavor.id,
                imageId: input.imageId,
                desiredState: 'running',
                mcsC1: pair.value.c1,
                mcsC2: pair.value.c2,
                tags: input.tags,
                userData: input.userData ?? null,
                ...(input.restartPolicy && { restartPolicy: input.restartPolicy }),
              });
            },
            () => 'No free sVirt MCS category pair is left in the cluster.',
          ).catch((e: unknown) => nameConflict(e, 'vms_tenant_name', 'VM', input.name));
          // Snapshots of the keys, in the VM's transaction: deleting a key later leaves the VM
          // (and its seed) with the key it was created with.
          await insertVmSshKeys(tx, { tenantId, vmId: vm.id, keys });

          const subnet = ipv4Subnet(network.cidr, network.gateway);
          if (!subnet.ok)
            throw new Error(`network ${network.id} has a bad subnet: ${subnet.detail}`);
          const ips = await ipsInUse(tx, { tenantId, networkId: network.id });
          const macs: string[] = [];
          const nic = await insertAllocated(
            tx,
            ['nics_mac', 'nics_network_ip'],
            ALLOCATION_ATTEMPTS,
            async (sp) => {
              const mac = allocateMac(macs, { random });
              const ip = allocateIpv4(subnet.value, ips);
              if (!mac.ok) throw exhausted(mac.detail);
              if (!ip.ok) throw exhausted(`networkId: ${ip.detail}`);
              macs.push(mac.value);
              ips.push(ip.value);
              return insertNic(sp, {
                tenantId,
                vmId: vm.id,
                networkId: network.id,
                mac: mac.value,
                ip: ip.value,
              });
            },
            (c) =>
              c === 'nics_network_ip'
                ? `networkId: network ${network.name} has no free address.`
                : 'No free MAC address is left.',
          );
          return {
            targetId: vm.id,
            audit: {
              name: vm.name,
              flavor: flavor.name,
              imageId: input.imageId,
              mcs: `c${vm.mcsC1},c${vm.mcsC2}`,
              nic: { networkId: network.id, mac: nic.mac, ip: nic.ip },
              sshKeys: keys.map((k) => ({ id: k.id, fingerprint: k.fingerprint })),
            },
          };
        },
        view: (tx, id) => vmView(tx, tenantId, id),
      },
      input,
    );
  });
