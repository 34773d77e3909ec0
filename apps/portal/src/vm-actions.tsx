/**
 * The VM lifecycle actions (start, stop, reboot, force off, delete) as the list and the detail
 * page offer them: one mutation, one set of confirm buttons, and the notice of the accepted
 * operation, so both pages behave the same.
 */
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import type { Operation, Vm } from '@palisade/contracts';
import { ConfirmButton, useApi, useInvalidate } from '@palisade/ui';
import { VM_ACTION_LABELS, vmActions, type VmAction } from './view';

export interface AcceptedAction {
  what: string;
  op: Operation;
  vmId: string;
}

export function useVmAction() {
  const { api } = useApi();
  const invalidate = useInvalidate();
  const [accepted, setAccepted] = useState<AcceptedAction | null>(null);
  const act = useMutation({
    mutationFn: ({ vm, action }: { vm: Vm; action: VmAction }) => {
      const input = { id: vm.id };
      switch (action) {
        case 'start':
          return api.vms.start.mutate(input);
        case 'stop':
          return api.vms.stop.mutate(input);
        case 'reboot':
          return api.vms.reboot.mutate(input);
        case 'forceOff':
          return api.vms.forceOff.mutate(input);
        case 'delete':
          return api.vms.delete.mutate(input);
      }
    },
    onSuccess: (r, { vm, action }) => {
      setAccepted({
        what: `${VM_ACTION_LABELS[action].label.toLowerCase()} ${vm.name}`,
        op: r.operation,
        vmId: vm.id,
      });
      return invalidate(['vms'], ['quota'], ['operations']);
    },
  });
  return { act, accepted, setAccepted };
}

export function VmActionButtons(props: { vm: Vm; act: ReturnType<typeof useVmAction>['act'] }) {
  const { vm, act } = props;
  return (
    <div className="pl-row-actions">
      {vmActions(vm).map((action) => (
        <ConfirmButton
          key={action}
          label={VM_ACTION_LABELS[action].label}
          question={VM_ACTION_LABELS[action].question(vm.name)}
          danger={action === 'delete' || action === 'forceOff'}
          disabled={act.isPending}
          onConfirm={() => act.mutate({ vm, action })}
        />
      ))}
    </div>
  );
}
