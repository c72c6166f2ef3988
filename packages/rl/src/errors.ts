import { DLError } from '@dl/tensor';

/** An action outside the env's action space: `CartPole.step: action 2 is not in Discrete(2)`. */
export class InvalidActionError extends DLError {}

/**
 * `step()` called before `reset()`, or after an episode ended (terminated or truncated) without
 * a `reset()` in between. Gymnasium only warns here; a silent extra step has wrong dynamics.
 */
export class ResetNeededError extends DLError {}

/** An observation or reward that is NaN or infinite (a diverged simulation or a broken wrapper). */
export class NonFiniteObservationError extends DLError {}

/** A bad argument to an env, wrapper or agent (a negative episode count, a space mismatch). */
export class RLValueError extends DLError {}
