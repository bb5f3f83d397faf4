/**
 * Multiply-accumulate counting: while `countMacs` runs a forward pass, every
 * Conv2d and Linear adds its MACs (out pixels × out channels × in/groups × k²;
 * in × out for Linear), the same definition as the reference counts.
 */
let counter: { macs: number } | undefined;

export function recordMacs(n: number): void {
  if (counter) counter.macs += n;
}

/** Runs `fn` (a forward pass) and returns the MACs the layers recorded. */
export function countMacs(fn: () => void): number {
  const prev = counter;
  counter = { macs: 0 };
  try {
    fn();
    return counter.macs;
  } finally {
    counter = prev;
  }
}
