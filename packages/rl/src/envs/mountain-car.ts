import { BaseEnv, resetBounds, resetState, type RgbFrame, type StepResult } from '../env.js';
import { Box, Discrete } from '../spaces.js';
import { Raster } from './raster.js';

export interface MountainCarOptions {
  /** the velocity the car must have at the goal (Gymnasium's goal_velocity, default 0) */
  goalVelocity?: number;
  /** render() width in pixels (default 600); the height is 2/3 of it */
  renderWidth?: number;
}

/**
 * Gymnasium's MountainCar-v0 (Moore 1990): an underpowered car in a valley must rock back and forth
 * to reach the flag at position 0.5. Actions 0 (push left), 1 (none), 2 (push right); observation
 * [position, velocity] (float32); reward -1 per step; start position uniform(-0.6, -0.4) at rest.
 * `make('MountainCar-v0')` adds the 200-step TimeLimit. `reset({ options: { state: [p, v] } })`
 * starts from a given state; `{ low, high }` changes the start-position bounds.
 *
 *   const env = make('MountainCar-v0');
 *   env.reset({ seed: 0 });
 *   env.step(2);
 */
export class MountainCar extends BaseEnv<Float32Array, number> {
  readonly minPosition = -1.2;
  readonly maxPosition = 0.6;
  readonly maxSpeed = 0.07;
  readonly goalPosition = 0.5;
  readonly goalVelocity: number;
  readonly force = 0.001;
  readonly gravity = 0.0025;

  readonly actionSpace = new Discrete(3);
  readonly observationSpace = new Box([this.minPosition, -this.maxSpeed], [this.maxPosition, this.maxSpeed]);
  /** [position, velocity] in float64 */
  state = new Float64Array(2);
  readonly renderWidth: number;

  constructor({ goalVelocity = 0, renderWidth = 600 }: MountainCarOptions = {}) {
    super();
    this.goalVelocity = goalVelocity;
    this.renderWidth = renderWidth;
  }

  protected resetEnv(options: Record<string, unknown>): Float32Array {
    const given = resetState('MountainCar.reset', options, 2);
    if (given) this.state.set(given);
    else {
      const [low, high] = resetBounds('MountainCar.reset', options, -0.6, -0.4);
      this.state.set([this.rng.uniform(low, high), 0]);
    }
    return Float32Array.from(this.state);
  }

  protected stepEnv(action: number): StepResult<Float32Array> {
    let [position, velocity] = this.state;
    velocity += (action - 1) * this.force + Math.cos(3 * position) * -this.gravity;
    velocity = Math.min(Math.max(velocity, -this.maxSpeed), this.maxSpeed);
    position += velocity;
    position = Math.min(Math.max(position, this.minPosition), this.maxPosition);
    if (position === this.minPosition && velocity < 0) velocity = 0;
    const terminated = position >= this.goalPosition && velocity >= this.goalVelocity;
    this.state.set([position, velocity]);
    return { observation: Float32Array.from(this.state), reward: -1.0, terminated, truncated: false, info: {} };
  }

  /** The height of the track at positions xs: sin(3x) * 0.45 + 0.55. */
  height(x: number): number {
    return Math.sin(3 * x) * 0.45 + 0.55;
  }

  /** The valley, the flag and the car. */
  render(): RgbFrame {
    const w = this.renderWidth;
    const k = w / 600;
    const r = new Raster(w, Math.round(400 * k));
    const scale = w / (this.maxPosition - this.minPosition);
    const px = (p: number) => (p - this.minPosition) * scale;
    for (let i = 0; i < 100; i++) {
      const a = this.minPosition + ((this.maxPosition - this.minPosition) * i) / 100;
      const b = this.minPosition + ((this.maxPosition - this.minPosition) * (i + 1)) / 100;
      r.line(px(a), this.height(a) * scale, px(b), this.height(b) * scale, [0, 0, 0], Math.max(1, 2 * k));
    }
    const fx = px(this.goalPosition);
    const fy = this.height(this.goalPosition) * scale;
    r.line(fx, fy, fx, fy + 50 * k, [0, 0, 0], Math.max(1, k));
    r.polygon([[fx, fy + 50 * k], [fx, fy + 40 * k], [fx + 25 * k, fy + 45 * k]], [204, 204, 0]);
    const pos = this.state[0];
    const angle = Math.cos(3 * pos);
    const cw = 40 * k;
    const ch = 20 * k;
    const clearance = 10 * k;
    const cx = px(pos);
    const cy = this.height(pos) * scale + clearance;
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    const body: [number, number][] = [[-cw / 2, 0], [-cw / 2, ch], [cw / 2, ch], [cw / 2, 0]];
    r.polygon(body.map(([x, y]) => [cx + x * c - y * s, cy + x * s + y * c] as [number, number]), [0, 0, 0]);
    for (const wx of [cw / 4, -cw / 4]) r.circle(cx + wx * c, cy + wx * s, ch / 2.5, [128, 128, 128]);
    return r.frame();
  }
}
