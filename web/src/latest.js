// Answers that arrive out of order: a read started before a change (a withdrawal)
// can answer after the read started after it. Each read takes a number when it
// starts; an answer older than one already shown is dropped, never shown over it.

export function latestOnly() {
  let asked = 0;
  let shown = 0;
  return {
    /** The number of a read about to start. */
    ask() {
      asked += 1;
      return asked;
    },
    /** A change has answered: reads started before now answer what it changed, and are dropped. */
    invalidate() {
      shown = asked + 1;
    },
    /** Whether the answer to read `n` may be shown (and, if so, it is now the newest shown). */
    accept(n) {
      if (n < shown) return false;
      shown = n;
      return true;
    },
  };
}
