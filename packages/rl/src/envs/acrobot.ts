import { BaseEnv, resetBounds, resetState, type RgbFrame, type StepResult } from '../env.js';
import { Box, Discrete } from '../spaces.js';
import { Raster } from './raster.js';

/** Wraps x into [m, M] by whole turns (Gymnasium's acrobot.wrap). */
export function wrap(x: number, m: number, M: number): number {
  const diff = M - m;
  while (x > M) x = x - diff;
  while (x < m) x = x + diff;
  return x;
}

/**
 * One classic 4th-order Runge-Kutta step of dy/dt = derivs(y) over dt, in the operation order of
 * Gymnasium's acrobot.rk4 (so results agree to the last bit where Math.cos/sin do).
 */
export function rk4(derivs: (y: Float64Array) => Float64Array, y0: Float64Array, dt: number): Float64Array {
  const dt2 = dt / 2.0;
  const axpy = (a: number, k: Float64Array) => y0.map((v, i) => v + a * k[i]);
  const k1 = derivs(y0);
  const k2 = derivs(axpy(dt2, k1));
  const k3 = derivs(axpy(dt2, k2));
  const k4 = derivs(axpy(dt, k3));
  const h = dt / 6.0;
  return y0.map((v, i) => v + h * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]));
}

export interface AcrobotOptions {
  /** render() side in pixels (default 500, Gymnasium's) */
  renderWidth?: number;
}

/**
 * Gymnasium's Acrobot-v1 (Sutton 1996, "book" dynamics): two links, torque -1, 0 or +1 on the
 * joint between them; swing the tip above the bar (-cos(t1) - cos(t1 + t2) > 1). Observation
 * [cos t1, sin t1, cos t2, sin t2, dt1, dt2] (float32); reward -1 per step, 0 on the terminal one;
 * RK4 over dt = 0.2 s; angles wrapped to [-pi, pi], velocities bounded by 4 pi and 9 pi; start
 * uniform(-0.1, 0.1) in float32. `make('Acrobot-v1')` adds the 500-step TimeLimit.
 * `reset({ options: { state: [t1, t2, dt1, dt2] } })` starts from a given state.
 *
 *   const env = make('Acrobot-v1');
 *   env.reset({ seed: 0 });
 *   env.step(0);
 */
export class Acrobot extends BaseEnv<Float32Array, number> {
  readonly dt = 0.2;
  readonly linkLength1 = 1.0;
  readonly linkLength2 = 1.0;
  readonly linkMass1 = 1.0;
  readonly linkMass2 = 1.0;
  readonly linkComPos1 = 0.5;
  readonly linkComPos2 = 0.5;
  readonly linkMoi = 1.0;
  readonly maxVel1 = 4 * Math.PI;
  readonly maxVel2 = 9 * Math.PI;
  readonly availTorque = [-1.0, 0.0, +1] as const;

  readonly actionSpace = new Discrete(3);
  readonly observationSpace = new Box([-1, -1, -1, -1, -this.maxVel1, -this.maxVel2], [1, 1, 1, 1, this.maxVel1, this.maxVel2]);
  /** [theta1, theta2, dtheta1, dtheta2] in float64 */
  state = new Float64Array(4);
  readonly renderWidth: number;

  constructor({ renderWidth = 500 }: AcrobotOptions = {}) {
    super();
    this.renderWidth = renderWidth;
  }

  protected resetEnv(options: Record<string, unknown>): Float32Array {
    const given = resetState('Acrobot.reset', options, 4);
    if (given) this.state.set(given);
    else {
      const [low, high] = resetBounds('Acrobot.reset', options, -0.1, 0.1);
      // Gymnasium draws in float64 and stores the start as float32
      for (let i = 0; i < 4; i++) this.state[i] = Math.fround(this.rng.uniform(low, high));
    }
    return this.observation();
  }

  protected stepEnv(action: number): StepResult<Float32Array> {
    const torque = this.availTorque[action];
    const ns = rk4((s) => this.dsdt(s), Float64Array.of(...this.state, torque), this.dt);
    ns[0] = wrap(ns[0], -Math.PI, Math.PI);
    ns[1] = wrap(ns[1], -Math.PI, Math.PI);
    ns[2] = Math.min(Math.max(ns[2], -this.maxVel1), this.maxVel1);
    ns[3] = Math.min(Math.max(ns[3], -this.maxVel2), this.maxVel2);
    this.state.set(ns.subarray(0, 4));
    const terminated = this.terminal();
    return { observation: this.observation(), reward: terminated ? 0.0 : -1.0, terminated, truncated: false, info: {} };
  }

  private observation(): Float32Array {
    const s = this.state;
    return Float32Array.of(Math.cos(s[0]), Math.sin(s[0]), Math.cos(s[1]), Math.sin(s[1]), s[2], s[3]);
  }

  private terminal(): boolean {
    const s = this.state;
    return -Math.cos(s[0]) - Math.cos(s[1] + s[0]) > 1.0;
  }

  /** Time derivative of [t1, t2, dt1, dt2, torque] (the torque is held constant). */
  private dsdt(sAugmented: Float64Array): Float64Array {
    const m1 = this.linkMass1;
    const m2 = this.linkMass2;
    const l1 = this.linkLength1;
    const lc1 = this.linkComPos1;
    const lc2 = this.linkComPos2;
    const I1 = this.linkMoi;
    const I2 = this.linkMoi;
    const g = 9.8;
    const [theta1, theta2, dtheta1, dtheta2, a] = sAugmented;
    const d1 = m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * Math.cos(theta2)) + I1 + I2;
    const d2 = m2 * (lc2 ** 2 + l1 * lc2 * Math.cos(theta2)) + I2;
    const phi2 = m2 * lc2 * g * Math.cos(theta1 + theta2 - Math.PI / 2.0);
    const phi1 =
      -m2 * l1 * lc2 * (dtheta2 * dtheta2) * Math.sin(theta2) -
      2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * Math.sin(theta2) +
      (m1 * lc1 + m2 * l1) * g * Math.cos(theta1 - Math.PI / 2) +
      phi2;
    const ddtheta2 = (a + (d2 / d1) * phi1 - m2 * l1 * lc2 * (dtheta1 * dtheta1) * Math.sin(theta2) - phi2) / (m2 * lc2 ** 2 + I2 - d2 ** 2 / d1);
    const ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    return Float64Array.of(dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0);
  }

  /** The two links from the pivot, and the goal line. */
  render(): RgbFrame {
    const w = this.renderWidth;
    const r = new Raster(w, w);
    const bound = this.linkLength1 + this.linkLength2 + 0.2;
    const scale = w / (bound * 2);
    const off = w / 2;
    const [t1, t2] = this.state;
    const p1 = [off + this.linkLength1 * Math.sin(t1) * scale, off - this.linkLength1 * Math.cos(t1) * scale];
    const p2 = [p1[0] + this.linkLength2 * Math.sin(t1 + t2) * scale, p1[1] - this.linkLength2 * Math.cos(t1 + t2) * scale];
    r.line(0, off + scale, w, off + scale, [0, 0, 0], 1);
    r.line(off, off, p1[0], p1[1], [0, 204, 204], 0.2 * scale);
    r.line(p1[0], p1[1], p2[0], p2[1], [0, 204, 204], 0.2 * scale);
    r.circle(off, off, 0.1 * scale, [204, 204, 0]);
    r.circle(p1[0], p1[1], 0.1 * scale, [204, 204, 0]);
    return r.frame();
  }
}
