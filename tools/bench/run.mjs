#!/usr/bin/env node
// `npm run bench`: runs every `*.bench.ts` under apps/, libs/ and tools/ and prints each case's
// median next to its baseline's, measured in the same run (STYLE.md: benchmarks are separate from
// tests, print numbers and compare with a baseline). Benchmarks are never run by `npm test`.
//
//   npm run bench                      all benchmark files
//   npm run bench -- define-start      files whose path contains this text
//   npm run bench -- --runs 9          runs per case (default: the file's own, else 5)
//
// A benchmark file exports `benchmark`:
//   { name, baseline: '<case name>', runs?, setup?(), teardown?(),
//     cases: { '<case name>': { run(i): Promise<void>, after?(i): Promise<void> } } }
// Cases run interleaved (a, b, a, b, ...) so drift on a shared machine hits all of them alike;
// only `run` is timed, `after` (cleanup) is not.
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
process.env.SWC_NODE_PROJECT ??= path.join(root, 'tsconfig.json');
const require = createRequire(import.meta.url);
require('@swc-node/register');

const args = process.argv.slice(2);
const runsIdx = args.indexOf('--runs');
const runsOverride = runsIdx >= 0 ? Number(args[runsIdx + 1]) : undefined;
if (runsOverride !== undefined && !(Number.isInteger(runsOverride) && runsOverride > 0)) {
  console.error('bench: --runs needs a positive integer');
  process.exit(2);
}
const filters = args.filter((a, i) => !a.startsWith('--') && (runsIdx < 0 || i !== runsIdx + 1));

function findBenchFiles(dir, out = []) {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    const p = path.join(dir, entry);
    if (statSync(p).isDirectory()) findBenchFiles(p, out);
    else if (entry.endsWith('.bench.ts')) out.push(p);
  }
  return out;
}

const files = ['apps', 'libs', 'tools']
  .flatMap((d) => findBenchFiles(path.join(root, d)))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(
    `bench: no *.bench.ts files${filters.length ? ` matching ${filters.join(', ')}` : ''}`,
  );
  process.exit(1);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ms = (x) => `${x.toFixed(1)} ms`;

let failed = false;
for (const file of files) {
  const { benchmark: b } = require(file);
  const names = Object.keys(b.cases);
  if (!names.includes(b.baseline))
    throw new Error(`${file}: baseline '${b.baseline}' is not a case`);
  const runs = runsOverride ?? b.runs ?? 5;
  console.log(`\n${b.name}  (${path.relative(root, file)}, ${runs} runs per case, interleaved)`);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  try {
    await b.setup?.();
    for (let i = 0; i < runs; i++) {
      for (const n of names) {
        const c = b.cases[n];
        const t0 = process.hrtime.bigint();
        await c.run(i);
        times[n].push(Number(process.hrtime.bigint() - t0) / 1e6);
        await c.after?.(i);
      }
    }
  } catch (e) {
    failed = true;
    console.error(`  failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    await b.teardown?.();
  }
  if (times[b.baseline].length < runs) continue;
  const base = median(times[b.baseline]);
  const width = Math.max(...names.map((n) => n.length));
  for (const n of names) {
    const m = median(times[n]);
    const rel =
      n === b.baseline
        ? 'baseline'
        : `${(m / base).toFixed(2)}x baseline (${m - base >= 0 ? '+' : ''}${ms(m - base)})`;
    console.log(
      `  ${n.padEnd(width)}  median ${ms(m).padStart(10)}  min ${ms(Math.min(...times[n])).padStart(10)}  max ${ms(Math.max(...times[n])).padStart(10)}  ${rel}`,
    );
  }
}
process.exit(failed ? 1 : 0);
