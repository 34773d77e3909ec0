#!/usr/bin/env node
// Entry point of the stack CLI: runs the TypeScript source through SWC (no build step).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
process.env.SWC_NODE_PROJECT ??= path.resolve(here, '../../../tsconfig.json');
const require = createRequire(import.meta.url);
require('@swc-node/register');
const { main } = require('../src/cli.ts');
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(`stack: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
