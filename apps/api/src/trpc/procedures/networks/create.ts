import {
  AppError,
  ErrorCode,
  networkAcceptedSchema,
  networkCreateInput,
} from '@palisade/contracts';
import { getFabric, insertNetwork, visibleSegmentIds } from '@palisade/db';
import {
  allocateSegmentId,
  cryptoRandomInt,
  formatIpv4,
  intervalsSize,
  ipv4Subnet,
  parseSegmentRanges,
} from '@palisade/domain';
import { accept, ACCEPTED_OPENAPI } from '../../../resources/accept';
import { insertAllocated } from '../../../resources/allocate';
import { nameConflict, notFound } from '../../../resources/errors';
import { consume } from '../../../resources/ledger';
import { tenantProcedure } from '../../trpc';
import { networkView } from './to-dto';

/**
 * Creates a network: validates the subnet and gateway (libs/domain ipv4), takes one network from
 * the quota, allocates a segment ID from the fabric's ranges, and accepts a network.create
 * operation (the worker builds the bridges on hosts when a VM first needs them).
 */
export const create = tenantProcedure('network.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/networks',
      protect: true,
      ...ACCEPTED_OPENAPI,
      tags: ['networks'],
      summary: 'Create a network (202)',
    },
  })
  .input(networkCreateInput)
  .output(networkAcceptedSchema)
  .mutation(({ ctx, input }) => {
    const tenantId = ctx.tenant.id;
    const subnet = ipv4Subnet(input.cidr, input.gateway);
    if (!subnet.ok)
      throw new AppError(ErrorCode.VALIDATION_FAILED, subnet.detail, {
        userMessage: subnet.detail,
        details: { field: subnet.field },
      });
    const random = cryptoRandomInt();
    return accept(
      ctx,
      {
        kind: 'network.create',
        targetType: 'network',
        input,
        run: async (tx) => {
          const fabric = await getFabric(tx, { id: input.fabricId });
          if (!fabric) throw notFound('fabric', input.fabricId ?? '(default)', 'fabricId');
          const ranges = parseSegmentRanges(fabric.type, fabric.segmentRanges);
          if (!ranges.ok) throw new Error(`fabric ${fabric.name}: ${ranges.detail}`);
          await consume(tx, tenantId, { networks: 1 });
          const taken = await visibleSegmentIds(tx, { tenantId, fabricId: fabric.id });
          // Others' segments are invisible: try at most as many values as the ranges hold.
          const attempts = Math.min(32, intervalsSize(ranges.value));
          const row = await insertAllocated(
            tx,
            ['networks_fabric_segment'],
            attempts,
            async (sp) => {
              const seg = allocateSegmentId(fabric.type, ranges.value, taken, { random });
              if (!seg.ok)
                throw new AppError(ErrorCode.ALLOCATION_EXHAUSTED, seg.detail, {
                  userMessage: `fabricId: fabric ${fabric.name} has no free segment.`,
                });
              taken.push(seg.value);
              return insertNetwork(sp, {
                tenantId,
                fabricId: fabric.id,
                name: input.name,
                segmentType: fabric.type,
                segmentId: seg.value,
                cidr: subnet.value.cidr.text,
                gateway: subnet.value.gateway === null ? null : formatIpv4(subnet.value.gateway),
              });
            },
            () => `fabricId: fabric ${fabric.name} has no free segment.`,
          ).catch((e: unknown) => nameConflict(e, 'networks_tenant_name', 'network', input.name));
          return {
            targetId: row.id,
            audit: {
              name: row.name,
              cidr: row.cidr,
              segment: `${row.segmentType}:${row.segmentId}`,
            },
          };
        },
        view: (tx, id) => networkView(tx, tenantId, id),
      },
      input,
    );
  });
