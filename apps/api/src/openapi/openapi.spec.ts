import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from './openapi';

describe('docs/api/openapi.json', () => {
  it('is exactly what the procedures generate (run `npm run openapi` after changing an API)', () => {
    const committed = readFileSync(
      path.resolve(__dirname, '../../../../docs/api/openapi.json'),
      'utf8',
    );
    expect(JSON.parse(committed)).toEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
  });

  it('routes every REST operation to a procedure that declares its access', () => {
    const doc = buildOpenApiDocument();
    const ops = Object.values(doc.paths ?? {}).flatMap((p) =>
      Object.values(p as Record<string, { security?: unknown[] }>),
    );
    expect(ops.length).toBeGreaterThan(0);
    for (const op of ops) expect(op.security).toEqual([{ bearer: [] }]);
  });
});
