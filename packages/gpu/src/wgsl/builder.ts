import { wgslStorageType, type DType } from '@dl/tensor';

/** WGSL scalar types a storage buffer holds. */
export type StorageType = 'f32' | 'i32' | 'u32' | 'f16';
/** Types arithmetic happens in: floats compute in f32 (float16 included), integers in i32. */
export type Domain = 'f32' | 'i32';
export type ParamKind = 'i32' | 'f32' | 'u32';

/** How each dtype is stored: bool takes a u32 per element, float16 needs `shader-f16` (@dl/tensor's mapping). */
export const storageType: (dtype: DType) => StorageType = wgslStorageType;

export function domainOf(dtype: DType): Domain {
  return dtype === 'float32' || dtype === 'float16' ? 'f32' : 'i32';
}

/** Bytes per stored element (bool is a u32). */
export function storageBytes(dtype: DType): number {
  return dtype === 'float16' ? 2 : 4;
}

/** Converts a stored value expression to a compute domain. */
export function toDomain(expr: string, from: StorageType, to: Domain): string {
  if (from === to) return expr;
  return `${to}(${expr})`;
}

/**
 * Converts a domain value to a stored value with @dl's cast rules: floats to int truncate toward
 * zero with NaN -> 0, anything to bool is "non-zero".
 */
export function fromDomain(expr: string, from: Domain, to: StorageType): string {
  if (to === 'u32') return from === 'f32' ? `select(0u, 1u, truthy(${expr}))` : `select(0u, 1u, (${expr}) != 0)`;
  if (from === to) return expr;
  if (to === 'i32') return `f2i(${expr})`;
  return `${to}(${expr})`;
}

export interface Binding {
  name: string;
  /** element type; vec4<f32> views a float32 buffer four elements at a time */
  type: StorageType | 'atomic<u32>' | 'vec4<f32>';
  access: 'read' | 'read_write';
}

/** A built shader: its source and how to fill its uniforms. */
export interface ShaderSpec {
  source: string;
  params: ReadonlyMap<string, { slot: number; kind: ParamKind }>;
  /** number of vec4<i32> uniform slots */
  uniformVec4s: number;
  bindings: readonly Binding[];
  workgroupSize: number;
}

const LANES = 'xyzw';

/** Helper functions every shader may use; emitted only when referenced. */
const HELPERS: Record<string, string> = {
  isnan: 'fn isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }',
  // x != 0 by the bits (NaN is true, ±0 false): Tint's float != is ordered, false next to a NaN
  truthy: 'fn truthy(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) != 0u; }',
  // float -> int32 as the CPU stores into an Int32Array (JS ToInt32): truncate, then wrap modulo
  // 2^32; NaN and infinities give 0. Past 2^31 an f32 is a multiple of 256, so the wrap is exact.
  f2i: `fn f2i(x: f32) -> i32 {
  if ((bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u) { return 0; }
  let t = trunc(x);
  if (abs(t) < 2147483648.0) { return i32(t); }
  return bitcast<i32>(u32(t - 4294967296.0 * floor(t / 4294967296.0)));
}`,
  // log(1 + x) to f32 precision: near x = 0 the series 2*atanh(s), s = x / (2 + x), since GPU
  // log is only accurate in absolute terms there; elsewhere log(1 + x) with Kahan's correction for the rounding of 1 + x
  log1p_: `fn log1p_(x: f32) -> f32 {
  if (abs(x) < 0.25) {
    let s = x / (2.0 + x);
    let s2 = s * s;
    return 2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0 + s2 / 15.0)))))));
  }
  let u = 1.0 + x;
  // some drivers (SwiftShader) give log(0) = log(FLT_MIN): zero and negatives are spelled out
  if (u <= 0.0) { return select(-inf(), nan(), u < 0.0); }
  if (abs(x) > 1e4) { return log(u); }
  return log(u) * x / (u - 1.0);
}`,
  // infinity cannot be a WGSL constant; reading it from a private variable keeps it a runtime value
  inf: 'var<private> INF_BITS: u32 = 0x7f800000u;\nfn inf() -> f32 { return bitcast<f32>(INF_BITS); }',
  nan: 'var<private> NAN_BITS: u32 = 0x7fc00000u;\nfn nan() -> f32 { return bitcast<f32>(NAN_BITS); }',
  // sin/cos with Cody-Waite reduction by pi/2 and polynomials on [-pi/4, pi/4]: GPU sin/cos are
  // only required to be ~1e-3 accurate (SwiftShader's are), @dl matches the CPU to ~1e-7
  sincos_: `fn sincos_(x: f32) -> vec2<f32> {
  if (abs(x) > 1e5 || isnan(x)) { return vec2<f32>(sin(x), cos(x)); }
  let q = round(x * 0.6366197723675814);
  let a = fma(-q, 7.54978995489188e-8, fma(-q, 4.837512969970703e-4, fma(-q, 1.5703125, x)));
  return sincosQuadrant(a, i32(q));
}`,
  // sin and cos of (a + k * pi/2) for a in [-pi/4, pi/4]: Taylor polynomials, then the quadrant
  sincosQuadrant: `fn sincosQuadrant(a: f32, q: i32) -> vec2<f32> {
  let a2 = a * a;
  let s = a * (1.0 + a2 * (-1.0 / 6.0 + a2 * (1.0 / 120.0 + a2 * (-1.0 / 5040.0 + a2 * (1.0 / 362880.0)))));
  let c = 1.0 + a2 * (-0.5 + a2 * (1.0 / 24.0 + a2 * (-1.0 / 720.0 + a2 * (1.0 / 40320.0 - a2 / 3628800.0))));
  let k = q & 3;
  if (k == 0) { return vec2<f32>(s, c); }
  if (k == 1) { return vec2<f32>(c, -s); }
  if (k == 2) { return vec2<f32>(-s, -c); }
  return vec2<f32>(-c, s);
}`,
};
const HELPER_DEPS: Record<string, string[]> = { log1p_: ['inf', 'nan'], sincos_: ['isnan', 'sincosQuadrant'] };

const SUBGROUP_ARGS = [
  '',
  ', @builtin(subgroup_id) sg_id: u32, @builtin(subgroup_invocation_id) sg_lane: u32, @builtin(subgroup_size) sg_size: u32, @builtin(num_subgroups) sg_count: u32',
];

/**
 * Builds one compute shader. Parameters are i32/f32/u32 scalars packed into a uniform
 * `array<vec4<i32>>`, so every kernel takes shapes, strides and offsets without a per-kernel struct;
 * `param()` returns the WGSL expression that reads one.
 */
export class ShaderBuilder {
  private readonly bindings: Binding[] = [];
  private readonly params = new Map<string, { slot: number; kind: ParamKind }>();
  private readonly fns: string[] = [];
  private readonly shared: string[] = [];
  private readonly consts: string[] = [];
  private subgroups = false;

  constructor(readonly workgroupSize: number) {}

  /**
   * Enables subgroup operations (the device needs 'subgroups', WGSL the `subgroup_id` language
   * feature): main then also has `sg` (this invocation's subgroup), `sgl` (its lane), `sgs` (the
   * subgroup size) and `sgn` (subgroups in the workgroup), all i32.
   */
  useSubgroups(): void {
    this.subgroups = true;
  }

  /** Declares a storage buffer binding (in declaration order) and returns its name. */
  storage(name: string, type: Binding['type'], access: Binding['access'] = 'read'): string {
    this.bindings.push({ name, type, access });
    return name;
  }

  /** Declares (once) a scalar parameter and returns a WGSL expression of its value. */
  param(name: string, kind: ParamKind = 'i32'): string {
    let p = this.params.get(name);
    if (!p) {
      p = { slot: this.params.size, kind };
      this.params.set(name, p);
    }
    const raw = `u.p[${p.slot >> 2}].${LANES[p.slot & 3]}`;
    return p.kind === 'i32' ? raw : `bitcast<${p.kind}>(${raw})`;
  }

  /**
   * A view of this builder whose parameter names carry `prefix` (bindings, functions and helpers
   * are shared): several kernels' bodies in one shader, each with its own uniforms.
   */
  scoped(prefix: string): ShaderBuilder {
    const view = Object.create(this) as ShaderBuilder;
    view.param = (name: string, kind: ParamKind = 'i32') => this.param(prefix + name, kind);
    return view;
  }

  /** `param` for each name in order. */
  paramList(prefix: string, n: number, kind: ParamKind = 'i32'): string[] {
    return Array.from({ length: n }, (_, i) => this.param(`${prefix}${i}`, kind));
  }

  fn(source: string): void {
    if (!this.fns.includes(source)) this.fns.push(source);
  }

  const(name: string, type: string, value: string | number): string {
    this.consts.push(`const ${name}: ${type} = ${value};`);
    return name;
  }

  workgroupArray(name: string, type: string, length: number): string {
    this.shared.push(`var<workgroup> ${name}: array<${type}, ${length}>;`);
    return name;
  }

  /** Assembles the shader around `body` (the main function's statements). */
  build(body: string): ShaderSpec {
    const f16 = this.bindings.some((b) => b.type === 'f16');
    const nVec4 = Math.max(1, Math.ceil(this.params.size / 4));
    const all = [...this.fns, body].join('\n');
    const helpers = new Set<string>();
    const want = (h: string): void => {
      if (helpers.has(h)) return;
      for (const d of HELPER_DEPS[h] ?? []) want(d);
      helpers.add(h);
    };
    for (const h of Object.keys(HELPERS)) if (new RegExp(`\\b${h}\\(`).test(all)) want(h);
    const decl = this.bindings.map((b, i) => {
      const access = b.type === 'atomic<u32>' || b.access === 'read_write' ? 'read_write' : 'read';
      return `@group(0) @binding(${i + 1}) var<storage, ${access}> ${b.name}: array<${b.type}>;`;
    });
    const source = [
      f16 ? 'enable f16;' : '',
      this.subgroups ? 'enable subgroups;' : '',
      `struct Params { p: array<vec4<i32>, ${nVec4}> }`,
      '@group(0) @binding(0) var<uniform> u: Params;',
      ...decl,
      ...this.consts,
      ...this.shared,
      ...[...helpers].map((h) => HELPERS[h]),
      ...this.fns,
      `@compute @workgroup_size(${this.workgroupSize})`,
      `fn main(@builtin(local_invocation_id) lid3: vec3<u32>, @builtin(workgroup_id) wid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>${SUBGROUP_ARGS[+this.subgroups]}) {`,
      '  let lid = i32(lid3.x);',
      this.subgroups ? '  let sg = i32(sg_id);\n  let sgl = i32(sg_lane);\n  let sgs = i32(sg_size);\n  let sgn = i32(sg_count);' : '',
      // workgroups are laid out over x and y (x is capped at 65535); z is a batch index
      '  let wg = i32(wid3.y * nwg.x + wid3.x);',
      '  let wz = i32(wid3.z);',
      body,
      '}',
    ]
      .filter((l) => l !== '')
      .join('\n');
    return { source, params: this.params, uniformVec4s: nVec4, bindings: this.bindings, workgroupSize: this.workgroupSize };
  }
}

/** Splits a count of workgroups over x and y, since each dimension is limited to 65535. */
export function grid(groups: number, z = 1): [number, number, number] {
  if (groups <= 65535) return [Math.max(groups, 1), 1, z];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y, z];
}
