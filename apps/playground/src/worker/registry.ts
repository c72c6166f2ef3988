/** The Worker's operations: each section registers its handlers here by name. */
export type Emit = (data: unknown) => void;
export type Handler = (args: any, emit: Emit) => Promise<unknown>; // eslint-disable-line @typescript-eslint/no-explicit-any

const handlers = new Map<string, Handler>();

/** Adds `op` (e.g. 'mnist.train'); a name registered twice is a programming error. */
export function register(ops: Record<string, Handler>): void {
  for (const [op, fn] of Object.entries(ops)) {
    if (handlers.has(op)) throw new Error(`worker op '${op}' registered twice`);
    handlers.set(op, fn);
  }
}

export function handler(op: string): Handler {
  const fn = handlers.get(op);
  if (!fn) throw new Error(`unknown worker op '${op}'; known: ${[...handlers.keys()].join(', ')}`);
  return fn;
}

/** Lets queued messages (a stop, a prediction) run between training steps. */
export function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Stop flags of long runs by name: `stopRequested('mnist')` turns true once the page sent
 * `{op: 'stop', args: 'mnist'}`, and `startRun` clears it.
 */
const stops = new Set<string>();
export function startRun(name: string): void {
  stops.delete(name);
}
export function stopRequested(name: string): boolean {
  return stops.has(name);
}
register({
  stop: async (name: string) => {
    stops.add(name);
    return null;
  },
});
