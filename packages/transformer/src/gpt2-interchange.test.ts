// GPT-2 folders moved between @dl/transformer and the GPT2LMHeadModel transcription
// (fixtures/gpt2_torch.py, run through /usr/bin/python3), in both directions, at GPT-2's real
// vocabulary (50257) and context (1024) with a narrow width: logits within float32 rounding and 20
// greedy tokens identical. Where torch is missing these skip, unless DL_REQUIRE_TORCH=1 (CI): then
// they fail.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init, loadSafetensors, saveSafetensors } from '@dl/layers';
import { manualSeed, randint, type Tensor } from '@dl/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GPT } from './gpt.js';
import { maxAbs, maxAbsDiff, runFixtureScript, skipTorch, torchMissing } from './test-helpers.js';

if (skipTorch) console.log(`${torchMissing}: skipping the live GPT-2 interchange (set DL_REQUIRE_TORCH=1 to fail instead)`);

const rowsOf = (t: Tensor): number[][] => t.toArray() as number[][];

/** Weights spread wider than GPT-2's init (as gen_fixtures.py's random_gpt2), so greedy picks are not near ties. */
function spread(model: GPT): void {
  for (const [name, p] of model.namedParameters()) {
    if (/ln_(1|2|f)\.weight$/.test(name)) init.uniform(p, 0.5, 1.5);
    else if (name.endsWith('bias')) init.normal(p, 0, 0.1);
    else if (name === 'transformer.wte.weight') init.normal(p, 0, 0.5);
    else init.normal(p, 0, 0.15);
  }
}

describe.skipIf(skipTorch)('GPT-2 interchange with the GPT2LMHeadModel transcription (live, vocab 50257, 1024 positions)', () => {
  // made when a test of the block runs (a filtered or skipped block leaves nothing in the temp dir)
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dl-gpt2-'));
  });
  afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('a folder saved by the PyTorch side loads with fromPretrained: same logits, same 20 greedy tokens', async () => {
    const folder = join(dir, 'torch');
    runFixtureScript('--make-gpt2', folder, '31', '50257', '1024', '64', '2', '4');
    const model = await GPT.fromPretrained(folder);
    const { tensors: io } = await loadSafetensors(join(folder, 'io.safetensors'));
    const logits = model.forward(io.ids); // (2, 12, 50257)
    const diff = maxAbsDiff(logits, io.logits);
    const out = await model.generate(io.ids, { maxNewTokens: 20, temperature: 0 });
    const same = JSON.stringify(rowsOf(out)) === JSON.stringify(rowsOf(io.greedy));
    console.log(`GPT2LMHeadModel -> GPT: max |logit diff| ${diff.toExponential(2)} (max |logit| ${maxAbs(io.logits).toFixed(2)}); 20 greedy tokens equal: ${same}`);
    expect(diff).toBeLessThan(1e-4 * Math.max(1, maxAbs(io.logits)));
    expect(rowsOf(out)).toEqual(rowsOf(io.greedy));
  });

  it('a folder saved by savePretrained loads in the PyTorch side: same logits, same 20 greedy tokens (no biases, exact GELU, nInner 96)', async () => {
    const folder = join(dir, 'dl');
    manualSeed(32);
    const model = new GPT({ vocabSize: 50257, blockSize: 1024, nEmbd: 64, nLayer: 2, nHead: 4, nInner: 96, bias: false, activation: 'gelu' }).eval();
    spread(model);
    const ids = randint(0, 50257, [2, 12]).int();
    const logits = model.forward(ids);
    const greedy = await model.generate(ids, { maxNewTokens: 20, temperature: 0 });
    await model.savePretrained(folder);
    await saveSafetensors(join(folder, 'dl_io.safetensors'), { ids, logits, greedy });
    const r = JSON.parse(runFixtureScript('--check-gpt2', folder)) as { maxdiff: number; maxabs: number; greedy: number[][]; same_tokens: boolean };
    console.log(`GPT -> GPT2LMHeadModel: max |logit diff| ${r.maxdiff.toExponential(2)} (max |logit| ${r.maxabs.toFixed(2)}); 20 greedy tokens equal: ${r.same_tokens}`);
    expect(r.maxdiff).toBeLessThan(1e-4 * Math.max(1, r.maxabs));
    expect(r.greedy).toEqual(rowsOf(greedy));
  });
});
