import { BaseEnv, type RgbFrame, type StepResult } from '../env.js';
import { RLValueError } from '../errors.js';
import { Discrete } from '../spaces.js';
import { Raster } from './raster.js';

export interface GridWorldOptions {
  /**
   * The map, one string per row, in Gymnasium FrozenLake's letters: S start, F free, H hole
   * (ends the episode with reward 0), G goal (ends it with reward 1). Default: FrozenLake's 4x4.
   */
  map?: readonly string[];
  /** the intended move happens with probability 1/3, each perpendicular one with 1/3 (FrozenLake's is_slippery; default false) */
  slippery?: boolean;
  /** reward of every step that reaches neither hole nor goal (default 0) */
  stepReward?: number;
  /** render() pixels per cell (default 16) */
  cellSize?: number;
}

/** Actions of GridWorld, FrozenLake's numbering. */
export const GRID_ACTIONS = { left: 0, down: 1, right: 2, up: 3 } as const;

/**
 * A small grid for tabular methods, with FrozenLake's map letters and action numbering: the agent
 * moves left (0), down (1), right (2) or up (3) and stays put at a wall; the observation is the cell
 * index row * cols + col (Discrete(rows * cols)). `make('GridWorld-v0')` adds a 100-step TimeLimit.
 *
 *   const env = new GridWorld({ map: ['SFF', 'FHF', 'FFG'] });
 *   env.reset({ seed: 0 });          // observation 0
 *   env.step(GRID_ACTIONS.right);    // observation 1, reward 0
 */
export class GridWorld extends BaseEnv<number, number> {
  readonly map: readonly string[];
  readonly rows: number;
  readonly cols: number;
  readonly slippery: boolean;
  readonly stepReward: number;
  readonly cellSize: number;
  readonly actionSpace = new Discrete(4);
  readonly observationSpace: Discrete;
  readonly start: number;
  /** the current cell index */
  s = 0;

  constructor({ map = ['SFFF', 'FHFH', 'FFFH', 'HFFG'], slippery = false, stepReward = 0, cellSize = 16 }: GridWorldOptions = {}) {
    super();
    const cols = map[0]?.length ?? 0;
    if (!map.length || !cols || map.some((row) => row.length !== cols || /[^SFHG]/.test(row))) {
      throw new RLValueError('GridWorld', `map must be equal-length rows of S, F, H, G; got ${JSON.stringify(map)}`);
    }
    const flat = map.join('');
    if (flat.split('S').length !== 2 || !flat.includes('G')) throw new RLValueError('GridWorld', `map needs exactly one S and at least one G; got ${JSON.stringify(map)}`);
    this.map = [...map];
    this.rows = map.length;
    this.cols = cols;
    this.slippery = slippery;
    this.stepReward = stepReward;
    this.cellSize = cellSize;
    this.observationSpace = new Discrete(this.rows * this.cols);
    this.start = flat.indexOf('S');
  }

  /** The letter at cell index s. */
  cell(s: number): string {
    return this.map[Math.floor(s / this.cols)][s % this.cols];
  }

  /** The cell reached from s by action a, walls included (no slipping). */
  move(s: number, a: number): number {
    let row = Math.floor(s / this.cols);
    let col = s % this.cols;
    if (a === 0) col = Math.max(col - 1, 0);
    else if (a === 1) row = Math.min(row + 1, this.rows - 1);
    else if (a === 2) col = Math.min(col + 1, this.cols - 1);
    else row = Math.max(row - 1, 0);
    return row * this.cols + col;
  }

  protected resetEnv(): number {
    this.s = this.start;
    return this.s;
  }

  protected stepEnv(action: number): StepResult<number> {
    const a = this.slippery ? (action + 3 + this.rng.integer(3)) % 4 : action;
    this.s = this.move(this.s, a);
    const c = this.cell(this.s);
    const terminated = c === 'H' || c === 'G';
    const reward = c === 'G' ? 1 : c === 'H' ? 0 : this.stepReward;
    return { observation: this.s, reward, terminated, truncated: false, info: {} };
  }

  /** Free cells light blue, holes dark blue, the goal green, the agent red. */
  render(): RgbFrame {
    const k = this.cellSize;
    const r = new Raster(this.cols * k, this.rows * k);
    const colour = { S: [200, 230, 255], F: [200, 230, 255], H: [20, 40, 120], G: [40, 180, 60] } as const;
    for (let i = 0; i < this.rows * this.cols; i++) {
      const row = Math.floor(i / this.cols);
      const col = i % this.cols;
      const y = (this.rows - 1 - row) * k;
      r.rect(col * k, y, col * k + k - 1, y + k - 1, colour[this.cell(i) as keyof typeof colour]);
    }
    const row = Math.floor(this.s / this.cols);
    const col = this.s % this.cols;
    r.circle(col * k + (k - 1) / 2, (this.rows - 1 - row) * k + (k - 1) / 2, k / 3, [220, 30, 30]);
    return r.frame();
  }
}
