// SiLU's gradient from the saved input and sigmoid, as PyTorch's
// silu_backward: dx = dy · s · (1 + x · (1 − s)), float32.

import { f32At } from './heap';

export function siluGrad(dy: usize, x: usize, s: usize, dx: usize, n: i32): void {
  const one = f32x4.splat(1);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const sv = v128.load(f32At(s, i));
    const inner = f32x4.add(one, f32x4.mul(v128.load(f32At(x, i)), f32x4.sub(one, sv)));
    v128.store(f32At(dx, i), f32x4.mul(f32x4.mul(v128.load(f32At(dy, i)), sv), inner));
  }
  for (; i < n; i++) {
    const sv = load<f32>(f32At(s, i));
    store<f32>(f32At(dx, i), load<f32>(f32At(dy, i)) * sv * (1 + load<f32>(f32At(x, i)) * (1 - sv)));
  }
}
