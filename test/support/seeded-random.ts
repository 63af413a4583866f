/** A small deterministic generator (xorshift32) for randomised tests: `pick(n)` is in [0, n), the same for the same seed, so a failing case can be rerun. */
export function seededRandom(seed: number): (below: number) => number {
  let state = seed >>> 0 || 1;
  return (below) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % below;
  };
}
