// A small typed WebAssembly binary emitter: enough of the MVP, SIMD128 and relaxed-SIMD encodings
// to write the CPU kernels in TypeScript and assemble them at run time (no toolchain, no .wasm file).

/** Value types (binary encoding). */
export const i32 = 0x7f;
export const f32 = 0x7d;
export const f64 = 0x7c;
export const v128 = 0x7b;
export type ValType = typeof i32 | typeof f32 | typeof f64 | typeof v128;

/** A structured-control label: `br(label)` computes the relative depth from it. */
export interface Label {
  readonly depth: number;
}

function uleb(out: number[], v: number): void {
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
}

function sleb(out: number[], v: number): void {
  v |= 0;
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function utf8(out: number[], s: string): void {
  const b = new TextEncoder().encode(s);
  uleb(out, b.length);
  for (const x of b) out.push(x);
}

function section(out: number[], id: number, body: number[]): void {
  out.push(id);
  uleb(out, body.length);
  for (const x of body) out.push(x);
}

const f32Scratch = new DataView(new ArrayBuffer(4));

/**
 * Body of one function. Methods append instructions; control blocks take a callback that receives
 * the block's label, so branch depths are computed instead of counted by hand.
 */
export class FuncBuilder {
  readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];
  private depth = 0;

  constructor(
    readonly params: readonly ValType[],
    readonly results: readonly ValType[],
  ) {}

  /** Declares a local and returns its index (params come first). */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  /** The encoded body: local declarations (run-length grouped) then code. */
  encode(): number[] {
    const groups: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const body: number[] = [];
    uleb(body, groups.length);
    for (const [n, t] of groups) {
      uleb(body, n);
      body.push(t);
    }
    for (const x of this.code) body.push(x);
    body.push(0x0b);
    const out: number[] = [];
    uleb(out, body.length);
    for (const x of body) out.push(x);
    return out;
  }

  private op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }

  private simd(sub: number): this {
    this.code.push(0xfd);
    uleb(this.code, sub);
    return this;
  }

  private memarg(align: number, offset: number): this {
    uleb(this.code, align);
    uleb(this.code, offset);
    return this;
  }

  private blockOf(opcode: number, body: (l: Label) => void): this {
    this.code.push(opcode, 0x40);
    this.depth++;
    body({ depth: this.depth });
    this.depth--;
    this.code.push(0x0b);
    return this;
  }

  // control
  /** `block` (a `br` to it jumps past its end). */
  block(body: (l: Label) => void): this {
    return this.blockOf(0x02, body);
  }
  /** `loop` (a `br` to it jumps back to its start). */
  loop(body: (l: Label) => void): this {
    return this.blockOf(0x03, body);
  }
  /** `if` on the i32 on the stack, with an optional else arm. */
  if(then: () => void, otherwise?: () => void): this {
    this.code.push(0x04, 0x40);
    this.depth++;
    then();
    if (otherwise) {
      this.code.push(0x05);
      otherwise();
    }
    this.depth--;
    this.code.push(0x0b);
    return this;
  }
  br(l: Label): this {
    this.code.push(0x0c);
    uleb(this.code, this.depth - l.depth);
    return this;
  }
  brIf(l: Label): this {
    this.code.push(0x0d);
    uleb(this.code, this.depth - l.depth);
    return this;
  }
  return(): this {
    return this.op(0x0f);
  }
  call(funcIndex: number): this {
    this.code.push(0x10);
    uleb(this.code, funcIndex);
    return this;
  }
  drop(): this {
    return this.op(0x1a);
  }
  select(): this {
    return this.op(0x1b);
  }

  // locals
  get(i: number): this {
    this.code.push(0x20);
    uleb(this.code, i);
    return this;
  }
  set(i: number): this {
    this.code.push(0x21);
    uleb(this.code, i);
    return this;
  }
  tee(i: number): this {
    this.code.push(0x22);
    uleb(this.code, i);
    return this;
  }

  // i32
  i32Const(v: number): this {
    this.code.push(0x41);
    sleb(this.code, v);
    return this;
  }
  i32Load(offset = 0): this {
    return this.op(0x28).memarg(2, offset);
  }
  i32Store(offset = 0): this {
    return this.op(0x36).memarg(2, offset);
  }
  i32Eqz(): this {
    return this.op(0x45);
  }
  i32Eq(): this {
    return this.op(0x46);
  }
  i32Ne(): this {
    return this.op(0x47);
  }
  i32LtS(): this {
    return this.op(0x48);
  }
  i32LtU(): this {
    return this.op(0x49);
  }
  i32GtS(): this {
    return this.op(0x4a);
  }
  i32LeS(): this {
    return this.op(0x4c);
  }
  i32GeS(): this {
    return this.op(0x4e);
  }
  i32GeU(): this {
    return this.op(0x4f);
  }
  i32Add(): this {
    return this.op(0x6a);
  }
  i32Sub(): this {
    return this.op(0x6b);
  }
  i32Mul(): this {
    return this.op(0x6c);
  }
  i32DivS(): this {
    return this.op(0x6d);
  }
  i32DivU(): this {
    return this.op(0x6e);
  }
  i32RemU(): this {
    return this.op(0x70);
  }
  i32And(): this {
    return this.op(0x71);
  }
  i32Or(): this {
    return this.op(0x72);
  }
  i32Shl(): this {
    return this.op(0x74);
  }
  i32ShrS(): this {
    return this.op(0x75);
  }

  // f32
  f32Const(v: number): this {
    this.code.push(0x43);
    f32Scratch.setFloat32(0, v, true);
    for (let i = 0; i < 4; i++) this.code.push(f32Scratch.getUint8(i));
    return this;
  }
  f32Load(offset = 0): this {
    return this.op(0x2a).memarg(2, offset);
  }
  f32Store(offset = 0): this {
    return this.op(0x38).memarg(2, offset);
  }
  f64Load(offset = 0): this {
    return this.op(0x2b).memarg(3, offset);
  }
  f64Store(offset = 0): this {
    return this.op(0x39).memarg(3, offset);
  }
  f32Add(): this {
    return this.op(0x92);
  }
  f32Sub(): this {
    return this.op(0x93);
  }
  f32Mul(): this {
    return this.op(0x94);
  }
  f32Div(): this {
    return this.op(0x95);
  }
  f64Const(v: number): this {
    this.code.push(0x44);
    const d = new DataView(new ArrayBuffer(8));
    d.setFloat64(0, v, true);
    for (let i = 0; i < 8; i++) this.code.push(d.getUint8(i));
    return this;
  }
  f64Add(): this {
    return this.op(0xa0);
  }
  f64Sub(): this {
    return this.op(0xa1);
  }
  f64Mul(): this {
    return this.op(0xa2);
  }
  f64Div(): this {
    return this.op(0xa3);
  }
  f64Sqrt(): this {
    return this.op(0x9f);
  }
  f64Eq(): this {
    return this.op(0x61);
  }
  /** f32.convert_i32_s */
  f32ConvertI32S(): this {
    return this.op(0xb2);
  }
  /** f64.convert_i32_u */
  f64ConvertI32U(): this {
    return this.op(0xb8);
  }
  f64PromoteF32(): this {
    return this.op(0xbb);
  }
  /** f32.demote_f64 (round to nearest even, as storing a double in a Float32Array) */
  f32DemoteF64(): this {
    return this.op(0xb6);
  }

  // SIMD128 (alignment hints are advisory; kernels use unaligned addresses freely)
  v128Load(offset = 0): this {
    return this.simd(0x00).memarg(4, offset);
  }
  v128Load32Splat(offset = 0): this {
    return this.simd(0x09).memarg(2, offset);
  }
  v128Store(offset = 0): this {
    return this.simd(0x0b).memarg(4, offset);
  }
  v128Zero(): this {
    this.simd(0x0c);
    for (let i = 0; i < 16; i++) this.code.push(0);
    return this;
  }
  /** i8x16.shuffle by f32 lanes: each of the 4 result lanes picks lane 0-3 of a or 4-7 of b */
  f32x4Shuffle(lanes: readonly [number, number, number, number]): this {
    this.simd(0x0d);
    for (const l of lanes) for (let b = 0; b < 4; b++) this.code.push(4 * l + b);
    return this;
  }
  f32x4Splat(): this {
    return this.simd(0x13);
  }
  f64x2Splat(): this {
    return this.simd(0x14);
  }
  f64x2ExtractLane(lane: number): this {
    this.simd(0x21);
    this.code.push(lane);
    return this;
  }
  /** f64x2.promote_low_f32x4: lanes 0 and 1 as doubles */
  f64x2PromoteLowF32x4(): this {
    return this.simd(0x5f);
  }
  /** f32x4.demote_f64x2_zero: both doubles rounded to floats in lanes 0 and 1, lanes 2 and 3 zero */
  f32x4DemoteF64x2Zero(): this {
    return this.simd(0x5e);
  }
  f64x2Add(): this {
    return this.simd(0xf0);
  }
  f64x2Sub(): this {
    return this.simd(0xf1);
  }
  f64x2Mul(): this {
    return this.simd(0xf2);
  }
  f32x4ExtractLane(lane: number): this {
    this.simd(0x1f);
    this.code.push(lane);
    return this;
  }
  f32x4Add(): this {
    return this.simd(0xe4);
  }
  f32x4Mul(): this {
    return this.simd(0xe6);
  }
  f32x4Sub(): this {
    return this.simd(0xe5);
  }
  f32x4Div(): this {
    return this.simd(0xe7);
  }
  /** lane-wise minimum; NaN if either lane is NaN */
  f32x4Min(): this {
    return this.simd(0xe8);
  }
  /** lane-wise maximum; NaN if either lane is NaN */
  f32x4Max(): this {
    return this.simd(0xe9);
  }
  /** pseudo-minimum b < a ? b : a (one x86 minps; a NaN in a is kept) */
  f32x4Pmin(): this {
    return this.simd(0xea);
  }
  /** pseudo-maximum a < b ? b : a (one x86 maxps; a NaN in a is kept) */
  f32x4Pmax(): this {
    return this.simd(0xeb);
  }
  f32x4Abs(): this {
    return this.simd(0xe0);
  }
  f32x4Neg(): this {
    return this.simd(0xe1);
  }
  /** round to the nearest integer, ties to even */
  f32x4Nearest(): this {
    return this.simd(0x6a);
  }
  /** lane masks (all ones where true) */
  f32x4Eq(): this {
    return this.simd(0x41);
  }
  f32x4Lt(): this {
    return this.simd(0x43);
  }
  f32x4Gt(): this {
    return this.simd(0x44);
  }
  f32x4Le(): this {
    return this.simd(0x45);
  }
  f32x4Ge(): this {
    return this.simd(0x46);
  }
  /** f32 lanes to i32, truncating toward zero; NaN gives 0, out-of-range values saturate */
  i32x4TruncSatF32x4S(): this {
    return this.simd(0xf8);
  }
  f32x4ConvertI32x4S(): this {
    return this.simd(0xfa);
  }
  /** v128.const with the same f32 in every lane */
  f32x4Const(v: number): this {
    this.simd(0x0c);
    f32Scratch.setFloat32(0, v, true);
    for (let l = 0; l < 4; l++) for (let i = 0; i < 4; i++) this.code.push(f32Scratch.getUint8(i));
    return this;
  }
  /** v128.const with the same i32 in every lane */
  i32x4Const(v: number): this {
    this.simd(0x0c);
    f32Scratch.setInt32(0, v, true);
    for (let l = 0; l < 4; l++) for (let i = 0; i < 4; i++) this.code.push(f32Scratch.getUint8(i));
    return this;
  }
  i32x4Splat(): this {
    return this.simd(0x11);
  }
  i32x4Add(): this {
    return this.simd(0xae);
  }
  i32x4Sub(): this {
    return this.simd(0xb1);
  }
  /** shift every lane left by the i32 on the stack */
  i32x4Shl(): this {
    return this.simd(0xab);
  }
  /** arithmetic shift right of every lane by the i32 on the stack */
  i32x4ShrS(): this {
    return this.simd(0xac);
  }
  i32x4Eq(): this {
    return this.simd(0x37);
  }
  i32x4GtS(): this {
    return this.simd(0x3b);
  }
  v128And(): this {
    return this.simd(0x4e);
  }
  /** a & ~b */
  v128AndNot(): this {
    return this.simd(0x4f);
  }
  v128Or(): this {
    return this.simd(0x50);
  }
  v128Xor(): this {
    return this.simd(0x51);
  }
  /** (a & mask) | (b & ~mask), operands pushed a, b, mask */
  v128Bitselect(): this {
    return this.simd(0x52);
  }
  /** relaxed-SIMD a*b+c (fused or not, by platform); only valid where `relaxedSimdSupported()` */
  f32x4RelaxedMadd(): this {
    return this.simd(0x105);
  }
}

interface FuncEntry {
  typeIndex: number;
  body: FuncBuilder;
}

/** Memory import limits; `shared` needs `maximum`. */
export interface MemoryImport {
  module: string;
  name: string;
  initial: number;
  maximum: number;
  shared: boolean;
}

/** A module with one imported memory, functions and exports. */
export class ModuleBuilder {
  private readonly types: string[] = [];
  private readonly typeBytes: number[][] = [];
  private readonly funcs: FuncEntry[] = [];
  private readonly exports: [string, number][] = [];
  private memory?: MemoryImport;

  importMemory(m: MemoryImport): this {
    this.memory = m;
    return this;
  }

  private typeIndex(params: readonly ValType[], results: readonly ValType[]): number {
    const key = `${params.join(',')}:${results.join(',')}`;
    let i = this.types.indexOf(key);
    if (i < 0) {
      const b: number[] = [0x60];
      uleb(b, params.length);
      b.push(...params);
      uleb(b, results.length);
      b.push(...results);
      i = this.types.push(key) - 1;
      this.typeBytes.push(b);
    }
    return i;
  }

  /** Declares a function (index = declaration order) and returns its builder; exported if named. */
  func(name: string | null, params: readonly ValType[], results: readonly ValType[] = []): FuncBuilder & { index: number } {
    const body = new FuncBuilder(params, results) as FuncBuilder & { index: number };
    body.index = this.funcs.length;
    this.funcs.push({ typeIndex: this.typeIndex(params, results), body });
    if (name !== null) this.exports.push([name, body.index]);
    return body;
  }

  bytes(): Uint8Array {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const types: number[] = [];
    uleb(types, this.typeBytes.length);
    for (const t of this.typeBytes) types.push(...t);
    section(out, 1, types);
    if (this.memory) {
      const m = this.memory;
      const imp: number[] = [];
      uleb(imp, 1);
      utf8(imp, m.module);
      utf8(imp, m.name);
      imp.push(0x02, m.shared ? 0x03 : 0x01);
      uleb(imp, m.initial);
      uleb(imp, m.maximum);
      section(out, 2, imp);
    }
    const fns: number[] = [];
    uleb(fns, this.funcs.length);
    for (const f of this.funcs) uleb(fns, f.typeIndex);
    section(out, 3, fns);
    const exps: number[] = [];
    uleb(exps, this.exports.length);
    for (const [name, idx] of this.exports) {
      utf8(exps, name);
      exps.push(0x00);
      uleb(exps, idx);
    }
    section(out, 7, exps);
    const code: number[] = [];
    uleb(code, this.funcs.length);
    for (const f of this.funcs) code.push(...f.body.encode());
    section(out, 10, code);
    return new Uint8Array(out);
  }
}
