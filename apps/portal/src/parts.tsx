/**
 * Presentational parts the portal's pages share: state badges, an operation with its steps, the
 * notice after a change was accepted. Pure (props in, markup out), so tests render them alone.
 */
import type { Operation } from '@palisade/contracts';
import { Time } from '@palisade/ui';
import { describeOperation } from './view';

export function StateBadge(props: { state: string; label?: string }) {
  return (
    <span className={`pl-state pl-state-${props.state}`}>
      {props.label ? `${props.label}: ` : ''}
      {props.state}
    </span>
  );
}

/** One operation: what it is, where it stands, each step, and why it failed. */
export function OperationItem({ op }: { op: Operation }) {
  return (
    <li className="pl-operation" aria-label={`Operation ${op.kind} ${op.state}`}>
      <p>
        <strong>{op.kind}</strong> <StateBadge state={op.state} /> {op.progress}% ·{' '}
        <Time iso={op.createdAt} />
      </p>
      <p className="pl-note">{describeOperation(op)}</p>
      {op.steps.length > 0 && (
        <ol aria-label={`Steps of ${op.kind}`}>
          {op.steps.map((s, i) => (
            <li key={`${s.name}-${i}`}>
              {s.name} <StateBadge state={s.state} />
              {s.error && <span className="pl-field-error"> {s.error}</span>}
            </li>
          ))}
        </ol>
      )}
      <p className="pl-note">
        <code>{op.id}</code>
      </p>
    </li>
  );
}

/** Operations newest first, as a timeline. */
export function OperationTimeline(props: { operations: Operation[]; empty: string }) {
  if (props.operations.length === 0) return <p className="pl-note">{props.empty}</p>;
  return (
    <ol className="pl-timeline" aria-label="Operations">
      {props.operations.map((op) => (
        <OperationItem key={op.id} op={op} />
      ))}
    </ol>
  );
}

/** Said after the API accepted a change: the operation it became and what happens next. */
export function AcceptedNotice(props: { what: string; op: Operation; href?: string }) {
  return (
    <div role="status" className="pl-card pl-ok">
      <p>
        Accepted: {props.what}. Operation <code>{props.op.kind}</code>{' '}
        <StateBadge state={props.op.state} />
      </p>
      <p className="pl-note">{describeOperation(props.op)}</p>
      {props.href && <a href={props.href}>Follow its operations</a>}
    </div>
  );
}
