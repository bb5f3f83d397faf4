// out = a·wa + b·wb over flat float32 buffers, in float32 with the rounding
// of the composed ops (each product rounded, then the sum): the weight EMA
// and the replicas' gradient average.

import { f32At } from './heap';

/** `out` may be `a` (a longer sum is folded pairwise in place). */
export function weightedSum2(a: usize, b: usize, out: usize, n: i32, wa: f32, wb: f32): void {
  const va = f32x4.splat(wa), vb = f32x4.splat(wb);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    v128.store(f32At(out, i), f32x4.add(f32x4.mul(v128.load(f32At(a, i)), va), f32x4.mul(v128.load(f32At(b, i)), vb)));
  }
  for (; i < n; i++) store<f32>(f32At(out, i), load<f32>(f32At(a, i)) * wa + load<f32>(f32At(b, i)) * wb);
}
