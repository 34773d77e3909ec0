/** `npm run openapi`: writes docs/api/openapi.json from the procedures (commit the result). */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildOpenApiDocument } from '../openapi/openapi';

export const OPENAPI_FILE = path.resolve(__dirname, '../../../../docs/api/openapi.json');

writeFileSync(OPENAPI_FILE, `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
process.stdout.write(`wrote ${path.relative(process.cwd(), OPENAPI_FILE)}\n`);
