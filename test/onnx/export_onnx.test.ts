// ONNX export, checked by ONNX Runtime: for RetinaNet (FPN) and YOLOX (PAFPN)
// over G-Ghost, and RetinaNet over GhostNet, the raw head maps of the exported
// graph equal our forward within 1e-4, and after post-processing the
// detections equal `predict`'s (boxes within 1e-2 px, scores within 1e-4,
// same labels), at batch 2. Each model also passes onnx.checker's full check
// where Debian's python3-onnx is installed.
import { strict as assert } from 'assert';
import * as ort from 'onnxruntime-node';
import { tf } from '../../engine/tf';
import { onnx } from 'onnx-proto';
import type { Detection, Detector } from '../../detectors/detector';
import { headTensors } from '../../detectors/detector';
import { Conv2d } from '../../nn/conv2d';
import { Module } from '../../nn/module';
import { boxToOriginal, ImageMeta } from '../../data/transforms';
import { exportOnnx, OnnxExport } from '../../onnx/export_onnx';
import { LABELS, onnxCheck, pythonWithOnnx, seededDetector } from './onnx_helpers';

const H = 64, W = 96, N = 2;

function exportAt(model: Detector, postprocess: boolean): OnnxExport {
  return exportOnnx(model, {
    inputSize: [H, W], postprocess, labels: LABELS, transform: { resize: { mode: 'square', size: W } },
    names: { backbone: 'test', neck: 'test' },
  });
}

async function runOrt(bytes: Uint8Array, nchw: Float32Array): Promise<ort.InferenceSession.OnnxValueMapType> {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    return await s.run({ images: new ort.Tensor('float32', nchw, [N, 3, H, W]) });
  } finally {
    await s.release();
  }
}

/** Every (predict) detection has one in `got` with its label, box within 1e-2 px and score within 1e-4 (order may differ where scores tie within rounding). */
function assertSameDetections(want: Detection[], got: Detection[], where: string): void {
  assert.equal(got.length, want.length, `${where}: ${got.length} ONNX detections, predict has ${want.length}`);
  const used = new Set<number>();
  for (const d of want) {
    const j = got.findIndex((g, k) => !used.has(k) && g.label === d.label && Math.abs(g.score - d.score) <= 1e-4 && g.box.every((v, i) => Math.abs(v - d.box[i]) <= 1e-2));
    assert.ok(j >= 0, `${where}: predict's ${JSON.stringify(d)} has no ONNX counterpart`);
    used.add(j);
  }
}

const CASES = [
  { name: 'RetinaNet, FPN, G-Ghost RegNetX-200MF (the main job)', config: 'retinanet_gghost_cpu_shapes.json' },
  { name: 'YOLOX, PAFPN, G-Ghost RegNetX-200MF', config: 'yolox_gghost_cpu_shapes.json' },
  { name: 'RetinaNet, FPN, GhostNet 1.0', config: 'retinanet_ghostnet100_fpn_1x_coco.json' },
];

describe('onnx export: ONNX Runtime against our forward and predict', function () {
  this.timeout(300_000);
  const py = pythonWithOnnx();

  for (const c of CASES) {
    it(c.name, async function () {
      const model = seededDetector(c.config);
      const x = tf.randomUniform([N, H, W, 3], -2, 2, 'float32', 11) as tf.Tensor4D;
      const nchw = tf.tidy(() => tf.transpose(x, [0, 3, 1, 2]).dataSync() as Float32Array);
      const out = model.forward(x);
      try {
        const raw = exportAt(model, false);
        const res = await runOrt(raw.bytes, nchw);
        for (const [branch, levels] of Object.entries(out)) {
          levels.forEach((t, l) => {
            const ours = tf.tidy(() => tf.transpose(t, [0, 3, 1, 2]).dataSync());
            const theirs = res[`${branch}_${l}`];
            assert.deepEqual([...theirs.dims], [N, t.shape[3], t.shape[1], t.shape[2]], `${branch}_${l} dims`);
            const d = theirs.data as Float32Array;
            let worst = 0;
            for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - d[i]));
            assert.ok(worst <= 1e-4, `${branch}_${l}: max |ONNX − tfjs| = ${worst}`);
          });
        }

        const full = exportAt(model, true);
        assert.deepEqual(full.outputs.map((o) => o.name), ['dets', 'labels']);
        const got = await runOrt(full.bytes, nchw);
        const metas: ImageMeta[] = Array.from({ length: N }, (_, id) => ({ id, origWidth: W, origHeight: H, width: W, height: H, scaleX: 1, scaleY: 1, flipped: false }));
        const want = await model.predict(out, metas);
        const T = got.dets.dims[1];
        const dets = got.dets.data as Float32Array, labels = got.labels.data as BigInt64Array;
        for (let b = 0; b < N; b++) {
          const mine: Detection[] = [];
          for (let i = 0; i < T; i++) {
            const k = b * T + i;
            if (labels[k] < 0n) { assert.equal(dets[k * 5 + 4], 0, 'padding rows have score 0'); continue; }
            mine.push({ box: boxToOriginal([dets[k * 5], dets[k * 5 + 1], dets[k * 5 + 2], dets[k * 5 + 3]], metas[b]), score: dets[k * 5 + 4], label: Number(labels[k]) });
          }
          assert.ok(want[b].length > 10, `image ${b}: the seeded model should detect something (${want[b].length})`);
          assertSameDetections(want[b], mine, `${c.config} image ${b}`);
        }
        if (py) for (const e of [raw, full]) onnxCheck(py, e.bytes);
        else console.log('      (onnx.checker skipped: no python3 with the onnx package; apt-get install python3-onnx)');
      } finally {
        tf.dispose([x, ...headTensors(out)]);
        model.dispose();
      }
    });
  }

  it('G-Ghost cheap operations are single grouped Convs', function () {
    const model = seededDetector('retinanet_gghost_cpu_shapes.json');
    try {
      const e = exportAt(model, false);
      const m = onnx.ModelProto.decode(e.bytes);
      const convByOutput = new Map(m.graph!.node!.filter((n) => n.opType === 'Conv').map((n) => [n.output![0], n]));
      const layers: Array<[string, Conv2d]> = [];
      const walk = (mod: Module, prefix: string): void => {
        if (mod instanceof Conv2d) layers.push([prefix, mod]);
        for (const [k, child] of mod.namedChildren()) walk(child, prefix ? `${prefix}.${k}` : k);
      };
      walk(model, '');
      // Each Conv node is one call of one Conv2d layer (head layers run once per level: `<path>_<k>`).
      const paths = new Set(layers.map(([p]) => p));
      for (const out of convByOutput.keys()) assert.ok(paths.has(out.replace(/_\d+$/, '')), `Conv ${out} is a Conv2d layer's`);
      let grouped = 0;
      for (const [p, layer] of layers) {
        const node = convByOutput.get(p);
        assert.ok(node, `a Conv node for ${p}`);
        const group = Number(node.attribute!.find((x) => x.name === 'group')?.i ?? 1);
        assert.equal(group, layer.groups, `${p}: group`);
        if (layer.groups > 1 && !layer.depthwise) grouped++;
      }
      assert.ok(grouped > 0, 'the G-Ghost backbone has grouped (not depthwise) convs');
    } finally {
      model.dispose();
    }
  });

  it('names the op and the module path it cannot express', function () {
    const model = seededDetector('retinanet_gghost_cpu_shapes.json');
    const neck = model.neck as unknown as { forward: (x: tf.Tensor4D[]) => tf.Tensor4D[] };
    const forward = neck.forward.bind(model.neck);
    // A neck that runs an operation the export has no mapping for (a cumulative sum).
    neck.forward = (xs) => forward(xs).map((t) => tf.cumsum(t, 3) as tf.Tensor4D);
    try {
      assert.throws(() => exportAt(model, false), /tfjs kernel "Cumsum" in module "neck"/);
    } finally {
      model.dispose();
    }
  });

  it('refuses opsets outside 13–17', function () {
    const model = seededDetector('retinanet_gghost_cpu_shapes.json');
    try {
      assert.throws(() => exportOnnx(model, { inputSize: [H, W], postprocess: true, opset: 18, labels: LABELS, transform: { resize: { mode: 'square', size: W } }, names: { backbone: '', neck: '' } }), /--opset 18: choose 13 to 17/);
    } finally {
      model.dispose();
    }
  });
});
