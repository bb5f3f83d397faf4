/**
 * `npm run bench:backbones`: forward images/s at 224 and 512 (batch 1, eval,
 * BN folded) for every backbone on the available backend, with params and
 * MACs beside each. Writes bench/results/backbones.json.
 * `BENCH_BACKBONES=a,b` limits the list (and `BENCH_NAME` names the results file); `BENCH_RUNS` sets timed runs (default 3).
 */
import { tf } from '../engine/tf';
import { initBackend, describeBackend, BackendName } from '../backend/init_backend';
import { backboneNames, createBackbone } from '../backbones/index';
import { foldBatchNorms } from '../nn/fold_bn';
import { countMacs } from '../nn/macs';
import { medianMs, writeResults } from './report';

async function main(): Promise<void> {
  const info = await initBackend((process.env.BENCH_BACKEND as BackendName | undefined) ?? 'auto');
  console.error(describeBackend(info));
  const names = process.env.BENCH_BACKBONES ? process.env.BENCH_BACKBONES.split(',') : backboneNames();
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const rows = [];
  for (const name of names) {
    const m = createBackbone(name, { withClassifier: false });
    const params = m.numParams();
    foldBatchNorms(m);
    const row: Record<string, unknown> = { name, paramsBackbone: params };
    for (const size of [224, 512]) {
      const x = tf.zeros([1, size, size, 3]) as tf.Tensor4D;
      row[`macs${size}`] = countMacs(() => tf.dispose(m.forward(x)));
      const ms = await medianMs(() => tf.tidy(() => { m.forward(x).forEach((t) => t.dataSync()); }), runs, 1);
      row[`fps${size}`] = +(1000 / ms).toFixed(2);
      x.dispose();
    }
    console.log(JSON.stringify(row));
    rows.push(row);
    m.dispose();
  }
  const file = writeResults(process.env.BENCH_NAME ?? 'backbones', process.env.BENCH_BACKBONES ? `BENCH_BACKBONES=${process.env.BENCH_BACKBONES} npm run bench:backbones` : 'npm run bench:backbones', {
    backend: { name: info.name, package: info.pkg, simd: info.simd, threads: info.threads },
    what: `backbone forward to the stride 8/16/32 outputs, batch 1, eval mode, BN folded; median of ${runs} runs after 1 warm-up; MACs of the backbone without classifier`,
    results: rows,
  });
  console.log(`wrote ${file}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
