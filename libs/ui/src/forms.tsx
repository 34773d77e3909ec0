/**
 * Forms and the small interactive parts of both UIs: fields that show the error for their own
 * input path, a confirmation step before destructive actions, a secret shown once with a copy
 * button, navigation by URL hash. Forms validate with the API's own zod schemas from
 * `@palisade/contracts` first, and show the API's field-named errors when it refuses anyway:
 * the API stays the authority, the form only spares a round trip.
 */
import { useEffect, useId, useState, type ReactNode } from 'react';
import type { z } from 'zod';
import { toDisplayError } from './api';

/** Error message per input path (`name`, `sshKeyIds.0`, or '' for the input as a whole). */
export type FieldErrors = Record<string, string>;

/** The first message per path of a failed zod parse. */
export function zodFieldErrors(error: z.ZodError): FieldErrors {
  const out: FieldErrors = {};
  for (const issue of error.issues) {
    const path = issue.path.map(String).join('.');
    out[path] ??= issue.message;
  }
  return out;
}

/** The field errors the API named in its refusal, by path; empty when it named none. */
export function apiFieldErrors(e: unknown): FieldErrors {
  const out: FieldErrors = {};
  for (const f of toDisplayError(e).fields ?? []) out[f.path] ??= f.message;
  return out;
}

/** Parses `input` with the API's own schema: the parsed value, or the errors per field. */
export function validate<S extends z.ZodType>(
  schema: S,
  input: unknown,
): { ok: true; value: z.output<S> } | { ok: false; errors: FieldErrors } {
  const r = schema.safeParse(input);
  return r.success ? { ok: true, value: r.data } : { ok: false, errors: zodFieldErrors(r.error) };
}

/** The error line of one field, named by its input path so it says what the API would say. */
function FieldMessage(props: { id: string; path: string; error?: string }) {
  if (!props.error) return null;
  return (
    <p id={props.id} className="pl-field-error" role="alert">
      <code>{props.path}</code>: {props.error}
    </p>
  );
}

export function TextField(props: {
  label: string;
  /** The input path the API uses, e.g. `name`; errors for it show under the field. */
  path: string;
  value: string;
  onChange: (value: string) => void;
  errors: FieldErrors;
  type?: 'text' | 'number' | 'email';
  placeholder?: string;
  multiline?: boolean;
  hint?: string;
}) {
  const id = useId();
  const error = props.errors[props.path];
  const common = {
    id,
    name: props.path,
    value: props.value,
    placeholder: props.placeholder,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': error ? `${id}-error` : undefined,
  };
  return (
    <div className="pl-field">
      <label htmlFor={id}>{props.label}</label>
      {props.multiline ? (
        <textarea {...common} rows={3} onChange={(e) => props.onChange(e.target.value)} />
      ) : (
        <input
          {...common}
          type={props.type ?? 'text'}
          onChange={(e) => props.onChange(e.target.value)}
        />
      )}
      {props.hint && <p className="pl-note">{props.hint}</p>}
      <FieldMessage id={`${id}-error`} path={props.path} error={error} />
    </div>
  );
}

export function SelectField(props: {
  label: string;
  path: string;
  value: string;
  onChange: (value: string) => void;
  errors: FieldErrors;
  options: { value: string; label: string }[];
  /** Shown as the first, empty choice. */
  placeholder?: string;
}) {
  const id = useId();
  const error = props.errors[props.path];
  return (
    <div className="pl-field">
      <label htmlFor={id}>{props.label}</label>
      <select
        id={id}
        name={props.path}
        value={props.value}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        onChange={(e) => props.onChange(e.target.value)}
      >
        {props.placeholder !== undefined && <option value="">{props.placeholder}</option>}
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      <FieldMessage id={`${id}-error`} path={props.path} error={error} />
    </div>
  );
}

/** A set of checkboxes whose value is the list of checked values (e.g. SSH key ids). */
export function CheckboxList(props: {
  legend: string;
  path: string;
  values: string[];
  onChange: (values: string[]) => void;
  errors: FieldErrors;
  options: { value: string; label: string }[];
  empty: string;
}) {
  const id = useId();
  // An error for one element (sshKeyIds.1) is shown for the list as a whole.
  const errorPath = Object.keys(props.errors).find(
    (p) => p === props.path || p.startsWith(`${props.path}.`),
  );
  return (
    <fieldset className="pl-field">
      <legend>{props.legend}</legend>
      {props.options.length === 0 && <p className="pl-note">{props.empty}</p>}
      {props.options.map((o) => (
        <label key={o.value} className="pl-check">
          <input
            type="checkbox"
            checked={props.values.includes(o.value)}
            onChange={(e) =>
              props.onChange(
                e.target.checked
                  ? [...props.values, o.value]
                  : props.values.filter((v) => v !== o.value),
              )
            }
          />
          {o.label}
        </label>
      ))}
      {errorPath && (
        <FieldMessage id={`${id}-error`} path={errorPath} error={props.errors[errorPath]} />
      )}
    </fieldset>
  );
}

/**
 * A destructive action behind a confirmation: the first click asks, naming what will happen;
 * only "Confirm" acts.
 */
export function ConfirmButton(props: {
  label: string;
  /** What the confirmation says, e.g. "Delete VM web-1? Its disks are destroyed." */
  question: string;
  onConfirm: () => void;
  disabled?: boolean;
  danger?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button
        type="button"
        className={props.danger ? 'pl-button pl-button-danger' : 'pl-button pl-button-light'}
        disabled={props.disabled}
        onClick={() => setAsking(true)}
      >
        {props.label}
      </button>
    );
  return (
    <span role="group" aria-label={`Confirm ${props.label}`} className="pl-confirm">
      <span>{props.question}</span>
      <button
        type="button"
        className="pl-button pl-button-danger"
        onClick={() => {
          setAsking(false);
          props.onConfirm();
        }}
      >
        Confirm
      </button>
      <button type="button" className="pl-button pl-button-light" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

/**
 * A secret the API returns once (an API client secret, a host join token): shown with a copy
 * button and the warning that it cannot be shown again. Never stored by the UI.
 */
export function SecretOnce(props: { label: string; secret: string; children?: ReactNode }) {
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');
  const titleId = useId();
  return (
    <section className="pl-card pl-secret" aria-labelledby={titleId}>
      <h2 id={titleId}>{props.label}</h2>
      <p>
        <strong>Shown once.</strong> Palisade stores only a hash and cannot show it again: copy it
        now.
      </p>
      <code className="pl-secret-value">{props.secret}</code>
      <div className="pl-actions">
        <button
          type="button"
          className="pl-button"
          onClick={() =>
            navigator.clipboard.writeText(props.secret).then(
              () => setCopied('yes'),
              () => setCopied('failed'),
            )
          }
        >
          Copy
        </button>
        <span role="status">
          {copied === 'yes'
            ? 'Copied to the clipboard.'
            : copied === 'failed'
              ? 'The browser refused the clipboard: select the text and copy it.'
              : ''}
        </span>
      </div>
      {props.children}
    </section>
  );
}

/** The current `#/a/b` route as its parts (['a', 'b']); [] for the home page. */
export function useHashRoute(): string[] {
  const parse = () =>
    window.location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [parts, setParts] = useState(parse);
  useEffect(() => {
    const onChange = () => setParts(parse());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return parts;
}

/** The app's sections, as links; the current one is marked for screen readers too. */
export function Nav(props: { items: { href: string; label: string }[]; current: string }) {
  return (
    <nav aria-label="Sections" className="pl-nav">
      {props.items.map((i) => (
        <a key={i.href} href={i.href} aria-current={i.href === props.current ? 'page' : undefined}>
          {i.label}
        </a>
      ))}
    </nav>
  );
}

/** A titled card: one section of a page. */
export function Card(props: { title: string; level?: 1 | 2; children: ReactNode }) {
  const id = useId();
  const H = props.level === 1 ? 'h1' : 'h2';
  return (
    <section className="pl-card" aria-labelledby={id}>
      <H id={id}>{props.title}</H>
      {props.children}
    </section>
  );
}

/** A timestamp as the reader's local time, with the exact ISO value on hover. */
export function Time(props: { iso: string | null }) {
  if (!props.iso) return <>—</>;
  return (
    <time dateTime={props.iso} title={props.iso}>
      {new Date(props.iso).toLocaleString()}
    </time>
  );
}
