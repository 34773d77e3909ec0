#!/usr/bin/env node
// Builds Palisade Tiny (or finds it in the cache) and prints its artefacts as JSON on stdout.
// Runs the TypeScript source through SWC (no build step), like the other tools of the repo.
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
    console.error(`guest-image: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
