#!/usr/bin/env node
// `npm test`: brings up the test profile of the local stack (its own data folder and ports, never
// the dev data), applies migrations, then runs every project's typecheck, lint and tests through
// Nx, two at a time (these machines have 2 cores). Ends with one summary line across projects.
//
//   npm test                 everything
//   npm test -- --keep       leave the test services running afterwards (faster next run)
//   npm test -- -p api,db    only these projects (Nx project names without the @palisade/ prefix)
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { must, root, run, serviceEnv, stackInfo } from '../lib.mjs';

const args = process.argv.slice(2);
const keep = args.includes('--keep') || process.env.PALISADE_KEEP_STACK === '1';
const pIdx = args.indexOf('-p');
const only = pIdx >= 0 ? args[pIdx + 1].split(',').map((p) => `@palisade/${p}`) : null;

const started = Date.now();
const stack = ['tools/stack/bin/stack.mjs'];
await must('node', [...stack, 'up', '--profile', 'test']);
const env = {
  ...serviceEnv(stackInfo('test'), { api: 13000, portal: 15173, admin: 15174, gateway: 13443 }),
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
  PALISADE_TEST_REPORT: '1',
};
await must('npm', ['run', '--silent', 'db:migrate'], { env });

const projectDirs = ['apps', 'libs', 'tools']
  .flatMap((d) => readdirSync(path.join(root, d)).map((p) => `${d}/${p}`))
  .concat('e2e')
  .filter((d) => existsSync(path.join(root, d, 'package.json')));
const reports = projectDirs.map((d) => path.join(root, d, 'test-report.json'));
for (const r of reports) rmSync(r, { force: true });

const nxArgs = [
  'nx',
  'run-many',
  '-t',
  'typecheck',
  'lint',
  'test',
  '--parallel=2',
  '--outputStyle=stream',
];
// The browser tests run last and alone: they log the demo users in through Keycloak's pages
// while nothing else does. Run next to the API suites (which log the same users in at the same
// moments) on a loaded machine, Keycloak 26's brute-force detector temporarily disabled a demo
// user without any recorded failure (seen in CI: `user_temporarily_disabled`, cf.
// keycloak/keycloak#36495), and page loads stretched past the tests' 30 s waits.
const E2E = '@palisade/e2e';
const selected = only ?? null;
const phases = [];
if (!selected || selected.some((p) => p !== E2E))
  phases.push([
    ...nxArgs,
    selected ? `--projects=${selected.filter((p) => p !== E2E).join(',')}` : `--exclude=${E2E}`,
  ]);
if (!selected || selected.includes(E2E)) phases.push([...nxArgs, `--projects=${E2E}`]);
let code = 0;
for (const args of phases) code = (await run('npx', args, { env })) || code;

let passed = 0;
let failed = 0;
let skipped = 0;
for (const r of reports) {
  if (!existsSync(r)) continue;
  const j = JSON.parse(readFileSync(r, 'utf8'));
  passed += j.numPassedTests;
  failed += j.numFailedTests;
  skipped += j.numPendingTests + (j.numTodoTests ?? 0);
}
if (!keep) await run('node', [...stack, 'down', '--profile', 'test']);
console.log(
  `\nnpm test finished in ${Math.round((Date.now() - started) / 1000)} s (nx exit ${code})`,
);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(code !== 0 ? code : failed > 0 ? 1 : 0);
