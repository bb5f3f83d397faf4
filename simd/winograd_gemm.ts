// The GEMMs at the heart of every Winograd conv (F(2×2, 3×3) in
// winograd.ts, F(4×4, 3×3) in winograd4.ts): for each element position e
// of the transformed tile, M_e[tile, :] = V_e[tile, :] · U_e, on the 4 × 8
// register tile of conv_gemm.ts (4 tiles × 8 output channels, 8
// accumulators, the filter panel read front to back).

import { madd } from './madd';

/**
 * `positions` GEMMs: V_e `[tiles4, K]` rows `rowBytes` apart at v + e·vPos,
 * U_e panels `[blocks, K, 8]` at u + e·uPos (`panel` bytes each), into M_e
 * `[tiles4, 8·blocks]` rows `mRow` apart at m + e·mPos.
 */
export function positionGemms(positions: i32, v: usize, vPos: usize, rowBytes: usize, u: usize, uPos: usize, panel: usize, blocks: i32,
  m: usize, mPos: usize, mRow: usize, tiles4: i32): void {
  for (let e = 0; e < positions; e++) {
    const ve = v + <usize>e * vPos, me = m + <usize>e * mPos, ue = u + <usize>e * uPos;
    for (let cb = 0; cb < blocks; cb++) {
      const pb0 = ue + <usize>cb * panel, mc = me + (<usize>cb << 5);
      for (let i = 0; i < tiles4; i += 4) {
        const a0 = ve + <usize>i * rowBytes, a1 = a0 + rowBytes, a2 = a1 + rowBytes, a3 = a2 + rowBytes;
        let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
        let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
        let pb = pb0;
        for (let o: usize = 0; o < rowBytes; o += 4, pb += 32) {
          const f0 = v128.load(pb), f1 = v128.load(pb, 16);
          let s = v128.load32_splat(a0 + o);
          c00 = madd(s, f0, c00); c01 = madd(s, f1, c01);
          s = v128.load32_splat(a1 + o);
          c10 = madd(s, f0, c10); c11 = madd(s, f1, c11);
          s = v128.load32_splat(a2 + o);
          c20 = madd(s, f0, c20); c21 = madd(s, f1, c21);
          s = v128.load32_splat(a3 + o);
          c30 = madd(s, f0, c30); c31 = madd(s, f1, c31);
        }
        const d = mc + <usize>i * mRow;
        v128.store(d, c00); v128.store(d, c01, 16);
        v128.store(d + mRow, c10); v128.store(d + mRow, c11, 16);
        v128.store(d + 2 * mRow, c20); v128.store(d + 2 * mRow, c21, 16);
        v128.store(d + 3 * mRow, c30); v128.store(d + 3 * mRow, c31, 16);
      }
    }
  }
}
