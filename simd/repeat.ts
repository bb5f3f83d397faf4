// `[outer, inner]` → `[outer, reps, inner]`: each row of `inner` floats
// written `reps` times (a broadcast over a middle axis).

import { f32At } from './heap';

export function repeatRows(src: usize, dst: usize, outer: i32, reps: i32, inner: i32): void {
  let d = dst;
  for (let o = 0; o < outer; o++) {
    const s = f32At(src, o * inner);
    for (let r = 0; r < reps; r++) {
      let i = 0;
      for (; i + 4 <= inner; i += 4, d += 16) v128.store(d, v128.load(f32At(s, i)));
      for (; i < inner; i++, d += 4) store<f32>(d, load<f32>(f32At(s, i)));
    }
  }
}
