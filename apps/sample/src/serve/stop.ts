/**
 * Stop sequences over streamed text: text is passed on as soon as it cannot be the start of a
 * stop sequence; a stop sequence ends the text before it (the stop itself is not part of the reply).
 *
 *   const m = new StopMatcher(['\nUser:']);
 *   m.push('Aye\nUs'); // { text: 'Aye', stopped: false }: '\nUs' may begin a stop
 *   m.push('er: hi'); // { text: '', stopped: true }
 */
export class StopMatcher {
  #held = '';
  #stopped = false;

  constructor(readonly stops: readonly string[]) {}

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Adds text; returns what can be passed on now and whether a stop sequence has been met. */
  push(piece: string): { text: string; stopped: boolean } {
    if (this.#stopped) return { text: '', stopped: true };
    const buf = this.#held + piece;
    let cut = -1;
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.#stopped = true;
      this.#held = '';
      return { text: buf.slice(0, cut), stopped: true };
    }
    // hold back the longest end of buf that begins some stop sequence
    let hold = 0;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, buf.length); k > hold; k--) {
        if (buf.endsWith(s.slice(0, k))) {
          hold = k;
          break;
        }
      }
    }
    this.#held = buf.slice(buf.length - hold);
    return { text: buf.slice(0, buf.length - hold), stopped: false };
  }

  /** The text held back (the reply ended without the stop sequence completing). */
  flush(): string {
    const t = this.#held;
    this.#held = '';
    return this.#stopped ? '' : t;
  }
}
