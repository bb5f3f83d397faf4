/**
 * Frees what the backward pass is done with, as it goes. tfjs keeps every
 * tensor the backward makes or reads until the whole pass ends: each node's
 * saved tensors, the gradient of each of its outputs, and each gradient
 * piece summed into another. A training step's memory then peaks at the
 * very end, at about the forward's saved tensors plus every gradient of
 * every activation: 2.9 GB for one 640×384 image through the COCO G-Ghost
 * RetinaNet.
 *
 * Once a node's gradient has run, nothing reads its saved tensors again,
 * and its outputs' gradients have been used: the tape runs in reverse, so
 * every consumer of an output comes before its producer. Here each tape
 * node's gradient function is wrapped (`addTapeNode`); when the next node's
 * gradient starts, the previous node's saved tensors, its outputs'
 * gradients and the pieces they were summed from are disposed. A tensor
 * that was handed back as some input's gradient is spared until that input's
 * own producer runs. Only first-order gradients (gradient depth 0), as
 * tfjs's own clean-up at the end of the pass. GHOSTDET_BACKWARD_RELEASE=0
 * keeps tfjs's behaviour.
 */
import { tf } from './tf';
import { flag } from '../util/flags';

type Thunks = Record<string, () => tf.Tensor>;

interface TapeNode {
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: Array<tf.Tensor | null>) => Thunks;
}

interface EngineInternals {
  addTapeNode(...args: unknown[]): void;
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
}

/** The node whose gradient ran last: what can go once the next one starts. */
interface Done {
  node: TapeNode;
  dys: tf.Tensor[];
  /** What its gradient functions returned, some of which may be `dys` or `saved` passed through. */
  results: Set<tf.Tensor>;
}

/** One backward pass: gradient pieces per tensor id, and how many ids hold each piece. */
class Backward {
  readonly pieces = new Map<number, tf.Tensor[]>();
  readonly holders = new Map<tf.Tensor, number>();
  done?: Done;

  record(x: tf.Tensor, piece: tf.Tensor): void {
    const list = this.pieces.get(x.id) ?? [];
    list.push(piece);
    this.pieces.set(x.id, list);
    this.holders.set(piece, (this.holders.get(piece) ?? 0) + 1);
  }

  /** Disposes what the last node left behind. */
  release(): void {
    const d = this.done;
    this.done = undefined;
    if (!d) return;
    const spare = (t: tf.Tensor): boolean => d.results.has(t) || (this.holders.get(t) ?? 0) > 0;
    for (const o of d.node.outputs) {
      for (const piece of this.pieces.get(o.id) ?? []) {
        const left = (this.holders.get(piece) ?? 1) - 1;
        if (left > 0) this.holders.set(piece, left);
        else this.holders.delete(piece);
      }
      const pieces = this.pieces.get(o.id) ?? [];
      this.pieces.delete(o.id);
      for (const t of pieces) if (!spare(t)) t.dispose();
    }
    for (const t of [...d.dys, ...(d.node.saved ?? [])]) if (!spare(t)) t.dispose();
  }
}

const passes = new WeakMap<TapeNode[], Backward>();
let original: EngineInternals['addTapeNode'] | undefined;

function wrap(engine: EngineInternals, node: TapeNode): void {
  const gradient = node.gradient;
  if (!gradient) return;
  node.gradient = (dys) => {
    const tape = engine.state.activeTape;
    if (!tape || engine.state.gradientDepth !== 0) return gradient(dys);
    let pass = passes.get(tape);
    if (!pass) passes.set(tape, (pass = new Backward()));
    pass.release();
    const thunks = gradient(dys);
    const done: Done = { node, dys: dys.filter((t): t is tf.Tensor => t !== null), results: new Set() };
    pass.done = done;
    const p = pass;
    return Object.fromEntries(Object.entries(thunks).map(([name, thunk]) => [name, () => {
      const piece = thunk();
      done.results.add(piece);
      const x = node.inputs[name];
      if (x) p.record(x, piece);
      return piece;
    }]));
  };
}

/** Installs the release on tfjs's engine (idempotent; off with GHOSTDET_BACKWARD_RELEASE=0). */
export function installBackwardRelease(): void {
  if (original || flag('GHOSTDET_BACKWARD_RELEASE') === '0') return;
  const engine = tf.engine() as unknown as EngineInternals;
  if (typeof engine.addTapeNode !== 'function') return;
  original = engine.addTapeNode;
  engine.addTapeNode = function addTapeNode(this: EngineInternals, ...args: unknown[]): void {
    original!.apply(this, args);
    const tape = this.state.activeTape;
    const node = tape?.[tape.length - 1];
    if (node) wrap(this, node);
  };
}

/** Puts tfjs's own tape back (tests compare the two). */
export function uninstallBackwardRelease(): void {
  if (!original) return;
  (tf.engine() as unknown as EngineInternals).addTapeNode = original;
  original = undefined;
}
