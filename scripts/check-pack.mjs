#!/usr/bin/env node
/**
 * Packs every publishable package as `pnpm publish` would, checks the packed manifests, then installs
 * `@dl/layers` alone (with its peers, from the tarballs) into a fresh npm project outside the
 * workspace and trains a Linear layer one step there. Catches what the workspace hides: a
 * `workspace:` range left in a manifest, a lower `@dl/*` package listed as a dependency (two copies,
 * two `Tensor` classes at run time), a file missing from `files`, an export that does not resolve.
 *
 *   node scripts/check-pack.mjs              # builds the packages first (turbo: cached when up to date)
 *   node scripts/check-pack.mjs --no-build   # packs the dist/ folders as they are
 *
 * Needs only the npm registry (nothing is fetched for @dl/layers and its peers); about 20 s.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The consumer's program: tensors it makes with its @dl/tensor must be the Tensor class @dl/autograd
// and @dl/layers check against (param() throws on a foreign Tensor, Module walks fields by instanceof).
const CONSUMER_SCRIPT = `
import { Tensor, manualSeed, randn } from '@dl/tensor';
import { backward } from '@dl/autograd';
import { Linear, Module, SGD, mseLoss, param } from '@dl/layers';

class Net extends Module {
  scale = param(randn([1])); // a parameter made from this project's tensor
  fc = new Linear(3, 1);
  forward(x) {
    return this.fc.forward(x).mul(this.scale); // (8, 1)
  }
}

manualSeed(0);
const net = new Net();
const check = (ok, what) => {
  if (!ok) throw new Error('consumer: ' + what);
};
check(net.fc.weight instanceof Tensor, "a Linear weight is not this project's Tensor (two copies of @dl/tensor)");
check(net.numParameters() === 5, 'Module found ' + net.numParameters() + ' parameters, expected 5 (scale + weight + bias)');
const x = randn([8, 3]);
const y = x.sum(1, true); // (8, 1)
const opt = new SGD(net.parameters(), { lr: 0.05 });
const before = mseLoss(net.forward(x), y);
opt.zeroGrad();
backward(before);
check(net.fc.weight.grad instanceof Tensor, 'no gradient reached the Linear weight');
opt.step();
const after = mseLoss(net.forward(x), y);
const [b, a] = [before.item(), after.item()];
check(a < b, 'one SGD step did not lower the loss: ' + b + ' -> ' + a);
console.log('consumer: one Tensor class; one SGD step on Linear(3, 1): loss ' + b.toFixed(4) + ' -> ' + a.toFixed(4));
`;

const root = new URL('..', import.meta.url).pathname;
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const errors = [];

if (!process.argv.includes('--no-build')) {
  try {
    execFileSync('pnpm', ['turbo', 'run', 'build', '--filter=./packages/*', '--output-logs=errors-only'], { cwd: root, stdio: 'inherit' });
  } catch {
    console.error('check-pack: the packages do not build (above)');
    process.exit(1);
  }
}

const work = mkdtempSync(join(tmpdir(), 'dl-check-pack-'));
try {
  // 1. pack (pnpm rewrites workspace: ranges the way `pnpm publish` does)
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  const packed = new Map(); // name -> { version, manifest, tgz }
  for (const dir of readdirSync(join(root, 'packages'))) {
    const cwd = join(root, 'packages', dir);
    if (!existsSync(join(cwd, 'package.json'))) continue;
    const pkg = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8'));
    if (pkg.private) continue;
    run('pnpm', ['pack', '--pack-destination', tarballs], cwd);
    const tgz = join(tarballs, `${pkg.name.replace('@', '').replace('/', '-')}-${pkg.version}.tgz`);
    const manifest = JSON.parse(run('tar', ['-xzOf', tgz, 'package/package.json'], work));
    packed.set(pkg.name, { version: pkg.version, manifest, tgz });
  }

  // 2. the packed manifests: no workspace: range, lower @dl packages as peers only, peer ranges
  //    that the versions packed together satisfy
  for (const [name, { manifest }] of packed) {
    const text = JSON.stringify(manifest);
    if (text.includes('workspace:')) errors.push(`${name}: the packed package.json still has a workspace: range`);
    for (const dep of Object.keys(manifest.dependencies ?? {})) {
      if (packed.has(dep)) errors.push(`${name}: ${dep} is a dependency; list it in peerDependencies so one copy exists at run time`);
    }
    for (const [dep, range] of Object.entries(manifest.peerDependencies ?? {})) {
      const peer = packed.get(dep);
      if (peer && !satisfies(peer.version, range)) errors.push(`${name}: peer range ${dep}@"${range}" excludes ${dep} ${peer.version}, packed with it`);
    }
  }

  // 3. @dl/layers alone in a fresh npm project, with its peers from the tarballs
  const layers = packed.get('@dl/layers');
  const peers = Object.keys(layers.manifest.peerDependencies ?? {});
  const consumer = join(work, 'consumer');
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'dl-check-pack-consumer', private: true, type: 'module' }, null, 2));
  const install = [layers.tgz, ...peers.map((p) => packed.get(p)?.tgz ?? p)];
  try {
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error', ...install], consumer);
  } catch (e) {
    errors.push(`consumer: npm install ${install.map((p) => p.split('/').pop()).join(' ')} failed (exit ${e.status})`);
  }
  if (existsSync(join(consumer, 'node_modules'))) {
    const copies = findManifests(join(consumer, 'node_modules'), '@dl/tensor');
    if (copies.length !== 1) errors.push(`consumer: ${copies.length} copies of @dl/tensor installed (${copies.join(', ')}); expected 1`);
    writeFileSync(join(consumer, 'train.mjs'), CONSUMER_SCRIPT);
    try {
      process.stdout.write(run('node', ['train.mjs'], consumer));
    } catch (e) {
      errors.push(`consumer: train.mjs failed (exit ${e.status})`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

if (errors.length) {
  console.error(`check-pack: ${errors.length} problem(s)\n  ${errors.join('\n  ')}`);
  process.exit(1);
}
console.log('check-pack: packed manifests are publishable; @dl/layers installs alone from its tarball and trains');

/** Whether `version` satisfies `range`: comparator sets (`>=0.1.0 <1.0.0`), `^x.y.z`, `~x.y.z`, exact versions. */
function satisfies(version, range) {
  const parse = (v) => v.split('.').map(Number);
  const cmp = (a, b) => {
    const [x, y] = [parse(a), parse(b)];
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
    return 0;
  };
  /** ^1.2.3 -> >=1.2.3 <2.0.0, ^0.2.3 -> >=0.2.3 <0.3.0, ~1.2.3 -> >=1.2.3 <1.3.0 */
  const expand = (c) => {
    const m = /^([\^~])(\d+)\.(\d+)\.(\d+)$/.exec(c);
    if (!m) return [c];
    const [maj, min] = [Number(m[2]), Number(m[3])];
    const upper = m[1] === '~' || maj === 0 ? `${maj}.${min + 1}.0` : `${maj + 1}.0.0`;
    return [`>=${m[2]}.${m[3]}.${m[4]}`, `<${upper}`];
  };
  return range.split('||').some((set) =>
    set.trim().split(/\s+/).flatMap(expand).every((c) => {
      const m = /^(>=|<=|>|<|=)?(\d+\.\d+\.\d+)$/.exec(c);
      if (!m) throw new Error(`check-pack: cannot read the range "${range}"`);
      const d = cmp(version, m[2]);
      return { '>=': d >= 0, '<=': d <= 0, '>': d > 0, '<': d < 0, '=': d === 0, undefined: d === 0 }[m[1]];
    }),
  );
}

/** Every installed copy of package `name` under `dir` (nested node_modules included). */
function findManifests(dir, name) {
  const found = [];
  if (!existsSync(dir)) return found;
  if (existsSync(join(dir, name, 'package.json'))) found.push(join(dir, name));
  for (const entry of readdirSync(dir)) {
    const sub = entry.startsWith('@') ? readdirSync(join(dir, entry)).map((e) => join(dir, entry, e)) : [join(dir, entry)];
    for (const p of sub) found.push(...findManifests(join(p, 'node_modules'), name));
  }
  return found;
}
