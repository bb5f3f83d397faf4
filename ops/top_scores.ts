/**
 * mmdetection's `filter_scores_and_topk` on one flattened score map: the
 * indices whose score is above a threshold, the best `k` of them, best first
 * (ties to the lower index). A full sort of the candidates costs seconds on
 * an untrained COCO RetinaNet (millions of scores above 0.05 at P3); this
 * selects the k-th score by radix selection on the float bits (scores are
 * non-negative, where the bit patterns order as the values do), in two
 * linear passes, then sorts only the k kept.
 */

const BUCKETS = 1 << 16;

/** Indices `i` in `[0, n)` with `scores[offset + i] > thr`, the best `k`, best first (ties: lower index first). */
export function topScoresAbove(scores: Float32Array, offset: number, n: number, thr: number, k: number): number[] {
  const s = scores.subarray(offset, offset + n);
  const byScore = (a: number, b: number): number => s[b] - s[a] || a - b;
  let count = 0;
  for (let i = 0; i < n; i++) if (s[i] > thr) count++;
  if (count <= k || thr < 0) {
    const all: number[] = [];
    for (let i = 0; i < n; i++) if (s[i] > thr) all.push(i);
    return all.sort(byScore).slice(0, k);
  }
  if (k <= 0) return [];
  const bits = new Uint32Array(s.buffer, s.byteOffset, n);
  // The k-th largest candidate's bit pattern: its high 16 bits, then its low 16 bits.
  const high = selectBucket(bits, s, thr, k, () => true, (b) => b >>> 16);
  const kthHigh = high.bucket;
  const low = selectBucket(bits, s, thr, high.rank, (b) => b >>> 16 === kthHigh, (b) => b & 0xffff);
  const kth = ((kthHigh << 16) | low.bucket) >>> 0;
  // Everything above the k-th value, then its ties in index order until k.
  const out: number[] = [];
  let ties = k;
  for (let i = 0; i < n; i++) if (s[i] > thr && bits[i] > kth) { out.push(i); ties--; }
  for (let i = 0; i < n && ties > 0; i++) if (s[i] > thr && bits[i] === kth) { out.push(i); ties--; }
  return out.sort(byScore);
}

/**
 * Among candidates passing `inSet`, the bucket (by `key`) that holds the
 * `rank`-th largest (1-based), and that element's rank inside its bucket.
 */
function selectBucket(bits: Uint32Array, s: Float32Array, thr: number, rank: number, inSet: (b: number) => boolean, key: (b: number) => number): { bucket: number; rank: number } {
  const hist = new Uint32Array(BUCKETS);
  for (let i = 0; i < bits.length; i++) if (s[i] > thr && inSet(bits[i])) hist[key(bits[i])]++;
  let left = rank;
  for (let b = BUCKETS - 1; b >= 0; b--) {
    if (hist[b] >= left) return { bucket: b, rank: left };
    left -= hist[b];
  }
  throw new Error('topScoresAbove: fewer candidates than counted');
}
