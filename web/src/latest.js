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

/**
 * `fn` (async) called once, `ms` after the last of a burst of calls: a burst of stream
 * events reads the picture once. Its failure is left to the next call.
 */
export function debounce(fn, ms) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(() => fn().catch(() => {}), ms);
  };
}
