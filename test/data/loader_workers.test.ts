import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { loadCoco } from '../../data/coco';
import { Batch, DataLoader, LoaderOptions, TooManyBadImagesError } from '../../data/loader';
import { tinyShapes } from '../fixtures';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-loader-'));

async function collect(loader: DataLoader, epoch: number, start = 0): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader.stream(epoch, start)) out.push(b);
  return out;
}

function assertSameBatches(a: Batch[], b: Batch[], what: string): void {
  assert.equal(a.length, b.length, `${what}: batch count`);
  a.forEach((x, i) => {
    const y = b[i];
    assert.deepEqual(x.shape, y.shape, `${what}: shape of batch ${i}`);
    assert.ok(Buffer.from(x.images.buffer, x.images.byteOffset, x.images.byteLength).equals(Buffer.from(y.images.buffer, y.images.byteOffset, y.images.byteLength)), `${what}: pixels of batch ${i}`);
    assert.deepEqual(x.indices, y.indices, `${what}: images of batch ${i}`);
    assert.deepEqual(x.metas, y.metas);
    x.targets.forEach((t, j) => {
      assert.deepEqual([...t.boxes], [...y.targets[j].boxes]);
      assert.deepEqual([...t.labels], [...y.targets[j].labels]);
      assert.deepEqual([...t.ignore], [...y.targets[j].ignore]);
    });
  });
}

describe('data loader on worker threads', function () {
  this.timeout(180000);
  const d = tinyShapes();
  const ds = loadCoco(d.trainAnn, { imagesDir: d.trainImages, log: () => undefined });
  const opts = (workers: number, prefetch?: number): LoaderOptions => ({
    batchSize: 3, train: true, seed: 11, transform: { resize: { mode: 'square', size: 64 }, sizeDivisor: 32 },
    mosaic: { size: [64, 64], prob: 0.7 }, randomAffine: { size: [64, 64] }, workers, prefetch,
  });

  it('gives the same batches, bit for bit, on 0, 1 and 2 workers, for two epochs, and from a resume point', async () => {
    const ref = [...new DataLoader(ds, opts(0)).batches(0)], ref1 = [...new DataLoader(ds, opts(0)).batches(1)];
    assert.equal(ref.length, 4);
    for (const [w, p] of [[1, 1], [2, 3], [2, 8]]) {
      const loader = new DataLoader(ds, opts(w, p));
      try {
        assertSameBatches(await collect(loader, 0), ref, `${w} workers, prefetch ${p}, epoch 0`);
        assertSameBatches(await collect(loader, 1), ref1, `${w} workers, prefetch ${p}, epoch 1`);
        assertSameBatches(await collect(loader, 1, 2), ref1.slice(2), `${w} workers, resumed at batch 2`);
        assert.ok(loader.maxInFlight <= p, `at most ${p} batches in flight (saw ${loader.maxInFlight})`);
      } finally {
        await loader.close();
      }
    }
    // Different epochs are different batches (the check above is not vacuous).
    assert.notDeepEqual(ref[0].indices, ref1[0].indices);
  });

  it('the mosaic switch reaches the workers: augment off gives the plain batches', async () => {
    const plain = [...new DataLoader(ds, { ...opts(0), mosaic: undefined, randomAffine: undefined }).batches(0)];
    const loader = new DataLoader(ds, opts(2));
    loader.augment = false;
    try {
      assertSameBatches(await collect(loader, 0), plain, 'augment off');
    } finally {
      await loader.close();
    }
  });

  it('an image that fails to decode in a worker is skipped and named once; past the allowed fraction the epoch stops with the list', async () => {
    const dir = tmp();
    for (const f of fs.readdirSync(d.trainImages)) fs.copyFileSync(path.join(d.trainImages, f), path.join(dir, f));
    const victim = ds.images[4];
    const bytes = fs.readFileSync(path.join(dir, path.basename(victim.file)));
    fs.writeFileSync(path.join(dir, path.basename(victim.file)), bytes.subarray(0, bytes.length >> 2));
    const bad = loadCoco(d.trainAnn, { imagesDir: dir, checkFiles: 'header', log: () => undefined });
    const warned: string[] = [];
    // 1 of 12 = 8 %: within a 10 % allowance, the epoch finishes without it (mosaic partners may draw it too: still one entry).
    const tolerant = new DataLoader(bad, { ...opts(2), maxBadFraction: 0.1, warn: (m) => warned.push(m) });
    try {
      const batches = await collect(tolerant, 0);
      assert.equal(batches.flatMap((b) => b.indices).length, 11);
      assert.ok(!batches.some((b) => b.indices.includes(4)));
      assert.deepEqual([...tolerant.badImages.keys()], [victim.id]);
      assert.equal(warned.length, 1);
      assert.match(warned[0], new RegExp(`image id ${victim.id}: .*${path.basename(victim.file)}.*cannot decode PNG`));
    } finally {
      await tolerant.close();
    }
    const strict = new DataLoader(bad, { ...opts(2), warn: () => undefined });
    try {
      await assert.rejects(collect(strict, 0), (e: unknown) => {
        assert.ok(e instanceof TooManyBadImagesError);
        assert.match(e.message, /1 of the 12 images of epoch 1 could not be decoded \(more than 1\.0%\); stopping/);
        assert.match(e.message, new RegExp(path.basename(victim.file)));
        return true;
      });
    } finally {
      await strict.close();
    }
  });

  it('memory stays bounded by the prefetch queue: 1,000 images of 640×640 behind a slow consumer', function () {
    this.timeout(300000);
    const script = path.resolve(__dirname, '..', '..', 'bench', 'loader_memory.js');
    const out = execFileSync(process.execPath, [script, tmp(), '1000', '2', '2', '150'], { encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { peakRssMB: number; maxInFlight: number; batches: number; images: number };
    assert.deepEqual([r.batches, r.images], [125, 1000]);
    assert.ok(r.maxInFlight <= 2, `in flight ${r.maxInFlight}`);
    // The consumer (150 ms a batch) is slower than the workers, so without the bound they would run ahead:
    // one batch is 8·640·640·3 float32 = 39 MB, all 1,000 images 4.9 GB. (bench:data: prefetch 8 peaks ~200 MB higher.)
    assert.ok(r.peakRssMB < 512, `peak RSS ${r.peakRssMB} MB, bound 512 MB`);
    console.log(`      peak RSS ${r.peakRssMB} MB for 1,000 640×640 images, 2 workers, prefetch 2`);
  });
});
