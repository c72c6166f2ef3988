import { BaseEnv, resetBounds, resetState, type RgbFrame, type StepResult } from '../env.js';
import { Box, Discrete } from '../spaces.js';
import { Raster } from './raster.js';

export interface CartPoleOptions {
  /** reward 0 per step and -1 on termination instead of 1 per step (Gymnasium's sutton_barto_reward) */
  suttonBartoReward?: boolean;
  /** render() width in pixels (default 600, Gymnasium's); the height is 2/3 of it */
  renderWidth?: number;
}

/**
 * Gymnasium's CartPole-v1 (Barto, Sutton & Anderson 1983): push a cart left (0) or right (1) to
 * keep a pole upright. Same constants, Euler integration in float64, float32 observations
 * [x, xDot, theta, thetaDot], termination at |x| > 2.4 or |theta| > 12 degrees, reward 1 per step
 * (including the terminating one) and a uniform(-0.05, 0.05) start. Truncation at 500 steps comes
 * from the TimeLimit wrapper, as `gym.make('CartPole-v1')` adds it: use `make('CartPole-v1')`.
 *
 * `reset({ options: { low, high } })` changes the start bounds (as Gymnasium);
 * `reset({ options: { state: [x, xDot, theta, thetaDot] } })` starts from a given state.
 *
 *   const env = new CartPole();
 *   env.reset({ seed: 1 });
 *   env.step(1).observation; // Float32Array(4)
 */
export class CartPole extends BaseEnv<Float32Array, number> {
  readonly gravity = 9.8;
  readonly masscart = 1.0;
  readonly masspole = 0.1;
  readonly totalMass = this.masspole + this.masscart;
  /** half the pole's length */
  readonly length = 0.5;
  readonly polemassLength = this.masspole * this.length;
  readonly forceMag = 10.0;
  /** seconds between state updates */
  readonly tau = 0.02;
  readonly thetaThresholdRadians = (12 * 2 * Math.PI) / 360;
  readonly xThreshold = 2.4;

  readonly actionSpace = new Discrete(2);
  readonly observationSpace: Box;
  /** [x, xDot, theta, thetaDot] in float64 */
  state = new Float64Array(4);
  readonly suttonBartoReward: boolean;
  readonly renderWidth: number;

  constructor({ suttonBartoReward = false, renderWidth = 600 }: CartPoleOptions = {}) {
    super();
    const high = [this.xThreshold * 2, Infinity, this.thetaThresholdRadians * 2, Infinity];
    this.observationSpace = new Box(high.map((h) => -h), high);
    this.suttonBartoReward = suttonBartoReward;
    this.renderWidth = renderWidth;
  }

  protected resetEnv(options: Record<string, unknown>): Float32Array {
    const given = resetState('CartPole.reset', options, 4);
    if (given) this.state.set(given);
    else {
      const [low, high] = resetBounds('CartPole.reset', options, -0.05, 0.05);
      for (let i = 0; i < 4; i++) this.state[i] = this.rng.uniform(low, high);
    }
    return Float32Array.from(this.state);
  }

  protected stepEnv(action: number): StepResult<Float32Array> {
    let [x, xDot, theta, thetaDot] = this.state;
    const force = action === 1 ? this.forceMag : -this.forceMag;
    const costheta = Math.cos(theta);
    const sintheta = Math.sin(theta);
    // equations of motion of https://coneural.org/florian/papers/05_cart_pole.pdf
    const temp = (force + this.polemassLength * (thetaDot * thetaDot) * sintheta) / this.totalMass;
    const thetaacc = (this.gravity * sintheta - costheta * temp) / (this.length * (4.0 / 3.0 - (this.masspole * (costheta * costheta)) / this.totalMass));
    const xacc = temp - (this.polemassLength * thetaacc * costheta) / this.totalMass;
    // Euler, as Gymnasium's default kinematics_integrator
    x = x + this.tau * xDot;
    xDot = xDot + this.tau * xacc;
    theta = theta + this.tau * thetaDot;
    thetaDot = thetaDot + this.tau * thetaacc;
    this.state.set([x, xDot, theta, thetaDot]);

    const terminated = x < -this.xThreshold || x > this.xThreshold || theta < -this.thetaThresholdRadians || theta > this.thetaThresholdRadians;
    const reward = this.suttonBartoReward ? (terminated ? -1.0 : 0.0) : 1.0;
    return { observation: Float32Array.from(this.state), reward, terminated, truncated: false, info: {} };
  }

  /** The cart, pole and track as Gymnasium draws them (600x400 by default). */
  render(): RgbFrame {
    const w = this.renderWidth;
    const k = w / 600;
    const r = new Raster(w, Math.round(400 * k));
    const scale = w / (this.xThreshold * 2);
    const polewidth = 10 * k;
    const polelen = scale * (2 * this.length);
    const cartwidth = 50 * k;
    const cartheight = 30 * k;
    const [x, , theta] = this.state;
    const cartx = x * scale + w / 2;
    const carty = 100 * k;
    r.line(0, carty, w, carty, [0, 0, 0], Math.max(1, k));
    r.rect(cartx - cartwidth / 2, carty - cartheight / 2, cartx + cartwidth / 2, carty + cartheight / 2, [0, 0, 0]);
    const axleY = carty + cartheight / 4;
    // the pole leans right for positive theta
    const corners: [number, number][] = [
      [-polewidth / 2, -polewidth / 2],
      [-polewidth / 2, polelen - polewidth / 2],
      [polewidth / 2, polelen - polewidth / 2],
      [polewidth / 2, -polewidth / 2],
    ];
    const c = Math.cos(-theta);
    const s = Math.sin(-theta);
    r.polygon(corners.map(([px, py]) => [cartx + px * c - py * s, axleY + px * s + py * c] as [number, number]), [202, 152, 101]);
    r.circle(cartx, axleY, polewidth / 2, [129, 132, 203]);
    return r.frame();
  }
}
