import { z } from 'zod';

export type ParsedEnv<T> = { ok: true; value: Readonly<T> } | { ok: false; problems: string[] };

/**
 * Parses an app's environment against its schema and lists EVERY problem, one line per variable,
 * so a misconfigured process can say everything that is wrong in one go (and then exit). Pure: the
 * caller passes the environment in.
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): ParsedEnv<z.infer<S>> {
  const result = schema.safeParse(env);
  if (result.success) return { ok: true, value: Object.freeze(result.data) };
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    const got = issue.path.length === 1 ? env[String(issue.path[0])] : undefined;
    return got === undefined
      ? `${name}: ${issue.message}`
      : `${name}: ${issue.message} (got ${JSON.stringify(redactValue(String(issue.path[0]), got))})`;
  });
  return { ok: false, problems };
}

const SECRET_NAME = /(PASSWORD|SECRET|TOKEN|KEY)$/i;

/** Masks credentials: whole values of secret-named variables, and passwords inside URLs. */
export function redactValue(name: string, value: string): string {
  if (SECRET_NAME.test(name)) return '[redacted]';
  return value.replace(/(\w+:\/\/[^:/@\s]+:)[^@\s]+@/g, '$1[redacted]@');
}

export function redactConfig(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) => [k, typeof v === 'string' ? redactValue(k, v) : v]),
  );
}

/** The logging settings every Palisade process takes; spread into each app's schema. */
export const logSettings = {
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `pretty` for people at a terminal (npm run dev); JSON lines otherwise. */
  LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
};
