import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { Operation } from '@palisade/contracts';
import { OperationTimeline } from './parts';
import { describeOperation, mayWrite, parseTags, quotaRows, vmActions } from './view';

const zero = {
  vcpus: 0,
  ramMiB: 0,
  diskGiB: 0,
  vms: 0,
  volumes: 0,
  snapshots: 0,
  networks: 0,
  publicIps: 0,
};

const op = (over: Partial<Operation>): Operation => ({
  id: '00000000-0000-4000-8000-000000000001',
  kind: 'vm.create',
  targetType: 'vm',
  targetId: '00000000-0000-4000-8000-000000000002',
  state: 'pending',
  steps: [],
  progress: 0,
  error: null,
  deadline: '2026-01-01T00:10:00.000Z',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: null,
  ...over,
});

describe('describeOperation', () => {
  it('says a pending operation waits for a worker', () => {
    expect(describeOperation(op({}))).toBe(
      'vm.create is pending: it stays pending until a worker runs it.',
    );
  });

  it('says why an operation failed, with the code', () => {
    expect(
      describeOperation(
        op({ state: 'failed', error: { code: 'host.unreachable', message: 'host down' } }),
      ),
    ).toBe('vm.create failed: host down (host.unreachable)');
  });
});

describe('OperationTimeline', () => {
  it('lists each step with its state and the error of a failed step', () => {
    const html = renderToStaticMarkup(
      <OperationTimeline
        empty="none"
        operations={[
          op({
            state: 'failed',
            progress: 40,
            error: { code: 'host.unreachable', message: 'host down' },
            steps: [
              { name: 'place', state: 'done' },
              { name: 'define', state: 'failed', error: 'virsh define: connection refused' },
            ],
          }),
        ]}
      />,
    );
    expect(html).toContain('aria-label="Operation vm.create failed"');
    expect(html).toContain('place <span class="pl-state pl-state-done">done</span>');
    expect(html).toContain('virsh define: connection refused');
    expect(html).toContain('vm.create failed: host down (host.unreachable)');
  });

  it('says so when there is nothing yet', () => {
    expect(
      renderToStaticMarkup(<OperationTimeline empty="No operations yet." operations={[]} />),
    ).toBe('<p class="pl-note">No operations yet.</p>');
  });
});

describe('quotaRows', () => {
  it('shows usage against the limit, with units, and a zero limit as full', () => {
    const rows = quotaRows({
      limits: { ...zero, vms: 5, ramMiB: 1024 },
      usage: { ...zero, vms: 1, ramMiB: 256 },
    });
    expect(rows.find((r) => r.key === 'vms')).toMatchObject({ text: '1 of 5', percent: 20 });
    expect(rows.find((r) => r.key === 'ramMiB')).toMatchObject({ text: '256 of 1024 MiB' });
    expect(rows.find((r) => r.key === 'networks')).toMatchObject({ text: '0 of 0', percent: 100 });
  });
});

describe('vmActions and mayWrite', () => {
  it('offers start to a stopped VM, stop and the rest to a running one, nothing to a deleted one', () => {
    expect(vmActions({ desiredState: 'stopped' })).toEqual(['start', 'delete']);
    expect(vmActions({ desiredState: 'running' })).toEqual([
      'stop',
      'reboot',
      'forceOff',
      'delete',
    ]);
    expect(vmActions({ desiredState: 'deleted' })).toEqual([]);
  });

  it('hides write buttons from viewers and people management from members', () => {
    expect(mayWrite('viewer', 'resources')).toBe(false);
    expect(mayWrite('member', 'resources')).toBe(true);
    expect(mayWrite('member', 'people')).toBe(false);
    expect(mayWrite('admin', 'people')).toBe(true);
  });
});

describe('parseTags', () => {
  it('splits on commas and spaces and drops empties', () => {
    expect(parseTags(' web, blue  env=prod,, ')).toEqual(['web', 'blue', 'env=prod']);
  });
});
