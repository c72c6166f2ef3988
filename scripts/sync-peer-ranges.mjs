#!/usr/bin/env node
/**
 * Keeps the `@dl/*` peer ranges of the publishable packages at `workspace:>=<current> <<next major>>`.
 *
 * Every package lists the lower `@dl/*` packages it builds on as peer dependencies, so one copy of
 * each (one `Tensor` class) exists at run time. A `^0.x` range would make changesets release every
 * dependent as a new major whenever `@dl/tensor` takes a minor, so the range spans the whole major
 * (`.changeset/config.json`: onlyUpdatePeerDependentsWhenOutOfRange). changesets never raises the
 * lower bound of such a range; this script does, right after `changeset version`
 * (`pnpm version-packages`), so a release never claims to work with an older peer than the one it
 * was built and tested against.
 *
 *   node scripts/sync-peer-ranges.mjs          # rewrite the ranges
 *   node scripts/sync-peer-ranges.mjs --check  # exit 1 if a range is behind (CI)
 */
import { readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const check = process.argv.includes('--check');

const dirs = readdirSync(join(root, 'packages'))
  .map((d) => join(root, 'packages', d, 'package.json'))
  .filter(existsSync);
const manifests = dirs.map((file) => ({ file, text: readFileSync(file, 'utf8') }));
const versions = new Map(manifests.map(({ text }) => JSON.parse(text)).map((p) => [p.name, p.version]));

/** The range a package at `version` should list for a peer: this version up to the next major. */
function rangeFor(version) {
  const major = Number(version.split('.')[0]);
  return `workspace:>=${version} <${major + 1}.0.0`;
}

const stale = [];
for (const { file, text } of manifests) {
  const pkg = JSON.parse(text);
  let changed = false;
  for (const [name, range] of Object.entries(pkg.peerDependencies ?? {})) {
    const version = versions.get(name);
    if (!version) continue; // not a workspace package (webgpu)
    const want = rangeFor(version);
    if (range === want) continue;
    stale.push(`${pkg.name}: peerDependencies["${name}"] is "${range}", expected "${want}"`);
    pkg.peerDependencies[name] = want;
    changed = true;
  }
  if (changed && !check) writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n');
}

if (check && stale.length) {
  console.error(`sync-peer-ranges: peer ranges are behind the workspace versions (run node scripts/sync-peer-ranges.mjs):\n  ${stale.join('\n  ')}`);
  process.exit(1);
}
console.log(stale.length ? `sync-peer-ranges: updated\n  ${stale.join('\n  ')}` : 'sync-peer-ranges: peer ranges match the workspace versions');
