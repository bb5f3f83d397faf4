import * as fs from 'fs';
import * as path from 'path';
import { tf } from '../engine/tf';

/** The repository's own small fixtures (copies, each named with its source in test/fixtures/README.md). */
const OWN = path.resolve(__dirname, '..', '..', 'test', 'fixtures');

/** The large reference fixtures: `$GHOSTDET_SHARED`, else `../shared` beside the repository; absent on a user's clone. */
export const SHARED = process.env.GHOSTDET_SHARED ?? path.resolve(__dirname, '..', '..', '..', 'shared');

/**
 * A fixture by its path in the shared layout (`fixtures/cocoeval/crowd`,
 * `datasets/coco128`): the repository's copy under test/fixtures when it has
 * one, else the shared folder's; undefined where neither has it.
 */
export function fixture(rel: string): string | undefined {
  // test/fixtures mirrors the shared layout, less its `fixtures/` level.
  for (const p of [path.join(OWN, rel.replace(/^fixtures\//, '')), path.join(SHARED, rel)]) {
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** What was skipped for want of a fixture: fixture → test titles (test/setup.ts prints the summary). */
export const missingFixtures = new Map<string, string[]>();

/**
 * The fixture's path, or skips the calling test or suite (`this` of an `it`
 * or a `before` hook) when neither place has it.
 */
export function needFixture(ctx: Mocha.Context, rel: string): string {
  const p = fixture(rel);
  if (p) return p;
  const title = ctx.currentTest?.fullTitle() ?? ctx.test?.parent?.fullTitle() ?? ctx.test?.fullTitle() ?? '?';
  missingFixtures.set(rel, [...(missingFixtures.get(rel) ?? []), title]);
  ctx.skip();
}

/** Runs `fn` with tfjs switched to `backend`, then switches back. */
export async function onBackend<T>(backend: 'cpu' | 'wasm', fn: () => T | Promise<T>): Promise<T> {
  const prev = tf.getBackend();
  await tf.setBackend(backend);
  try {
    return await fn();
  } finally {
    await tf.setBackend(prev);
  }
}

/** max |a − b| / max(|b|, tiny): the relative error used throughout the tests. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(scale, 1e-12);
}

/** Deterministic values in [−1, 1) (a tiny LCG; tests must not depend on tfjs's RNG). */
export function seeded(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Runs `fn` with these environment variables set (undefined: unset), then restores them. */
export function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const prev = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const put = (v: Record<string, string | undefined>): void => {
    for (const [k, x] of Object.entries(v)) if (x === undefined) delete process.env[k]; else process.env[k] = x;
  };
  put(vars);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    put(prev);
    throw e;
  }
  // An async fn keeps the variables until it settles.
  if (result instanceof Promise) return result.finally(() => put(prev)) as T;
  put(prev);
  return result;
}

/** Runs `fn` with our SIMD kernels off (GHOSTDET_SIMD=0): the JS / XNNPACK routes they replace on wasm. */
export function withoutSimd<T>(fn: () => T): T {
  return withEnv({ GHOSTDET_SIMD: '0' }, fn);
}

/** The whole coco128 folder (shared only: the repository carries four of its images), or skips the calling test. */
export function coco128(ctx: Mocha.Context): string {
  return path.dirname(path.dirname(needFixture(ctx, 'datasets/coco128/annotations/instances_val2017.json')));
}
