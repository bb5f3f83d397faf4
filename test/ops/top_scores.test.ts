import { strict as assert } from 'assert';
import { topScoresAbove } from '../../ops/top_scores';

/** The definition: filter, sort by score (ties: lower index), cut. */
function reference(s: Float32Array, offset: number, n: number, thr: number, k: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < n; i++) if (s[offset + i] > thr) idx.push(i);
  return idx.sort((a, b) => s[offset + b] - s[offset + a] || a - b).slice(0, k);
}

describe('topScoresAbove (filter_scores_and_topk)', () => {
  it('equals filter + sort + cut, with ties at the cut, offsets, and every k', () => {
    let seed = 9;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 40; trial++) {
      const n = 50 + Math.floor(rand() * 3000), offset = Math.floor(rand() * 20);
      const s = new Float32Array(n + offset + 5);
      // Coarse values make many ties; some trials use the full range.
      for (let i = 0; i < s.length; i++) s[i] = trial % 2 ? Math.round(rand() * 20) / 20 : rand();
      for (const thr of [0, 0.05, 0.5]) {
        for (const k of [0, 1, 7, 100, n]) assert.deepEqual(topScoresAbove(s, offset, n, thr, k), reference(s, offset, n, thr, k), `trial ${trial} thr ${thr} k ${k}`);
      }
    }
  });

  it('handles values that share their high bits (second radix pass) and a negative threshold', () => {
    const s = new Float32Array(1000);
    for (let i = 0; i < s.length; i++) s[i] = 0.5 + i * 1e-7 * ((i * 7919) % 13);
    assert.deepEqual(topScoresAbove(s, 0, 1000, 0.05, 10), reference(s, 0, 1000, 0.05, 10));
    assert.deepEqual(topScoresAbove(s, 0, 1000, -1, 10), reference(s, 0, 1000, -1, 10));
  });
});
