import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import type { AddressInfo } from 'net';
import type { Server } from 'http';
import { PNG } from 'pngjs';
import type { Browser } from 'puppeteer-core';
import { tf } from '../../engine/tf';
import { seedInit } from '../../util/rng';
import { loadConfig } from '../../configs/schema';
import { buildDetector } from '../../detectors/build';
import { detectImage } from '../../detectors/detect_image';
import type { Detection } from '../../detectors/detector';
import { readCheckpoint, restoreCheckpoint, saveCheckpoint } from '../../train/checkpoint';
import { transformOf } from '../../data/from_config';
import { readImage } from '../../data/image';
import { runExport } from '../../cli/export';
import { createStaticServer } from '../../web/static_server';
import { findChromium, launchChromium } from '../../web/headless_chromium';
import { fixture } from '../helpers';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CONFIG = path.join(ROOT, 'configs', 'retinanet_gghost_cpu_shapes.json');
const IMAGES = ['000000000009.jpg', '000000000025.jpg', '000000000030.jpg', '000000000034.jpg'].map((f) => fixture(`datasets/coco128/val2017/${f}`) ?? path.join(__dirname, f));
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'ghostdet-web-'));

/** A main-job checkpoint with fixed-seed weights; classification biases at 0 so scores spread around 0.5 and every image has detections to compare. */
async function makeCheckpoint(dir: string): Promise<string> {
  const { config } = loadConfig(CONFIG);
  seedInit(123);
  const model = buildDetector({ ...config.model, numClasses: 3 });
  const bias = model.namedParameters().find((p) => p.name === 'bbox_head.retina_cls.bias')!;
  bias.variable.assign(tf.zerosLike(bias.variable));
  const file = path.join(dir, 'seeded.safetensors');
  await saveCheckpoint(file, model, undefined, { epoch: 0, batchInEpoch: 0, iter: 0, config, labels: { catIds: [1, 2, 3], names: ['circle', 'square', 'triangle'] } });
  model.dispose();
  return file;
}

/** What `ghostdet predict` computes: the checkpoint restored (BN not folded), `detectImage` per image. */
async function nodeDetections(checkpoint: string): Promise<Detection[][]> {
  const { config } = loadConfig(CONFIG);
  const model = buildDetector({ ...config.model, numClasses: 3 });
  restoreCheckpoint(readCheckpoint(checkpoint), model, undefined, checkpoint);
  model.eval();
  const out: Detection[][] = [];
  for (const f of IMAGES) out.push(await detectImage(model, readImage(f), transformOf(config.data)));
  model.dispose();
  return out;
}

function rawGet(port: number, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    let data = '';
    s.on('data', (d) => { data += d.toString('latin1'); });
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });
}

describe('the exported page in headless Chromium', function () {
  this.timeout(300000);
  let browser: Browser | undefined;
  let server: Server | undefined;
  let base = '';
  let dir = '';
  let ck = '';

  before(async function () {
    if (!findChromium()) {
      // CI installs Chromium (.ci/run); elsewhere the test says what it needs.
      if (process.env.CI) throw new Error('Chromium is missing: .ci/run installs it with apt-get install -y chromium');
      console.warn('      (skipped: no Chromium; apt-get install -y chromium, or set GHOSTDET_CHROMIUM)');
      this.skip();
    }
    dir = tmp();
    ck = await makeCheckpoint(dir);
    await runExport({ backend: 'wasm', config: CONFIG, checkpoint: ck, out: path.join(dir, 'site'), score: 0.3 });
    server = createStaticServer(path.join(dir, 'site'));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
  });

  async function openPage(query = ''): Promise<import('puppeteer-core').Page> {
    const page = await browser!.newPage();
    await page.setViewport({ width: 1100, height: 900 });
    await page.goto(base + query, { waitUntil: 'load' });
    await page.waitForFunction('window.ghostdet || window.ghostdetError', { timeout: 120000 });
    const err = await page.evaluate('window.ghostdetError');
    assert.equal(err, undefined, `page failed: ${err}`);
    return page;
  }

  async function pageDetections(page: import('puppeteer-core').Page): Promise<Array<{ detections: Detection[]; ms: number }>> {
    const out = [];
    for (const f of IMAGES) {
      const b64 = fs.readFileSync(f).toString('base64');
      out.push(await page.evaluate((b: string, n: string) => window.ghostdet!.detect(b, n), b64, path.basename(f)));
    }
    return out;
  }

  function compare(page: Array<{ detections: Detection[] }>, node: Detection[][], boxTol: number, scoreTol: number): { maxBox: number; maxScore: number } {
    let maxBox = 0, maxScore = 0;
    node.forEach((n, i) => {
      const p = page[i].detections;
      assert.equal(p.length, n.length, `${path.basename(IMAGES[i])}: detection count`);
      n.forEach((d, k) => {
        assert.equal(p[k].label, d.label, `${path.basename(IMAGES[i])} detection ${k}: label`);
        for (let c = 0; c < 4; c++) maxBox = Math.max(maxBox, Math.abs(p[k].box[c] - d.box[c]));
        maxScore = Math.max(maxScore, Math.abs(p[k].score - d.score));
      });
    });
    assert.ok(maxBox <= boxTol, `boxes differ by ${maxBox} px (tolerance ${boxTol})`);
    assert.ok(maxScore <= scoreTol, `scores differ by ${maxScore} (tolerance ${scoreTol})`);
    return { maxBox, maxScore };
  }

  it('on wasm, the page gives the detections Node gives: same count, boxes within 1e-3 px, scores within 1e-4', async () => {
    const page = await openPage();
    assert.match(await page.evaluate(() => window.ghostdet!.backend), /^wasm \(SIMD on/);
    const got = await pageDetections(page);
    const want = await nodeDetections(ck);
    assert.ok(want.every((d) => d.length > 0), 'every image has detections to compare');
    const d = compare(got, want, 1e-3, 1e-4);
    console.log(`      wasm: ${want.flat().length} detections, max box diff ${d.maxBox.toExponential(1)} px, max score diff ${d.maxScore.toExponential(1)}; ${(got.reduce((s, r) => s + r.ms, 0) / got.length).toFixed(0)} ms/image`);
    await page.close();
  });

  it('on webgpu (SwiftShader\'s adapter in headless Chromium), with the tolerances of wasm: boxes within 1e-3 px, scores within 1e-4', async () => {
    const page = await openPage('?backend=webgpu');
    assert.match(await page.evaluate(() => window.ghostdet!.backend), /^webgpu \(/);
    const got = await pageDetections(page);
    const d = compare(got, await nodeDetections(ck), 1e-3, 1e-4);
    console.log(`      webgpu: max box diff ${d.maxBox.toExponential(1)} px, max score diff ${d.maxScore.toExponential(1)}; ${(got.reduce((s, r) => s + r.ms, 0) / got.length).toFixed(0)} ms/image`);
    await page.close();
  });

  it('on webgl (SwiftShader in headless Chromium), within 1e-2 px and 1e-2 in score', async () => {
    const page = await openPage('?backend=webgl');
    assert.match(await page.evaluate(() => window.ghostdet!.backend), /^webgl/);
    const got = await pageDetections(page);
    const d = compare(got, await nodeDetections(ck), 1e-2, 1e-2);
    console.log(`      webgl: max box diff ${d.maxBox.toExponential(1)} px, max score diff ${d.maxScore.toExponential(1)}; ${(got.reduce((s, r) => s + r.ms, 0) / got.length).toFixed(0)} ms/image`);
    await page.close();
  });

  it('a picked image is drawn with its boxes (screenshot saved, not blank); a non-image file gets a clear message', async () => {
    const page = await openPage();
    const input = (await page.$('input#files'))!;
    const notImage = path.join(dir, 'notes.txt');
    fs.writeFileSync(notImage, 'not an image');
    await input.uploadFile(IMAGES[0]);
    await page.waitForSelector('figure .svg svg rect', { timeout: 60000 });
    const boxes = await page.$$eval('figure .svg svg rect[fill="none"]', (r) => r.length);
    assert.ok(boxes > 0, 'boxes drawn');
    assert.match(await page.$eval('figure .time', (e) => e.textContent ?? ''), /^\d+\.\d ms on wasm$/);
    // The slider hides low-scoring boxes.
    await page.$eval('#score', (e) => { (e as HTMLInputElement).value = '1'; e.dispatchEvent(new Event('input')); });
    assert.equal(await page.$$eval('figure .svg svg rect[fill="none"]', (r) => r.length), 0);
    await page.$eval('#score', (e) => { (e as HTMLInputElement).value = '0.3'; e.dispatchEvent(new Event('input')); });
    const shot = path.join(dir, 'page.png');
    const fig = (await page.$('figure'))!;
    await fig.screenshot({ path: shot });
    const png = PNG.sync.read(fs.readFileSync(shot));
    let sum = 0, sq = 0;
    const n = png.width * png.height;
    for (let i = 0; i < n; i++) { const v = png.data[4 * i]; sum += v; sq += v * v; }
    const variance = sq / n - (sum / n) ** 2;
    assert.ok(variance > 200, `screenshot ${shot} looks blank (variance ${variance.toFixed(0)})`);
    console.log(`      screenshot: ${shot} (${png.width}×${png.height}, variance ${variance.toFixed(0)})`);
    await input.uploadFile(notImage);
    await page.waitForSelector('figure.error');
    assert.equal(await page.$eval('figure.error figcaption', (e) => e.textContent), 'notes.txt is not a PNG or JPEG image');
    await page.close();
  });

  it('serve: MIME types for the page, no listing, /../ and encoded traversal refused (raw HTTP)', async () => {
    const port = (server!.address() as AddressInfo).port;
    assert.match(await rawGet(port, '/tfjs-backend-wasm-simd.wasm'), /^HTTP\/1\.1 200[\s\S]*Content-Type: application\/wasm/i);
    assert.match(await rawGet(port, '/'), /^HTTP\/1\.1 200[\s\S]*text\/html/);
    assert.match(await rawGet(port, '/../package.json'), /^HTTP\/1\.1 403[\s\S]*path traversal refused/);
    assert.match(await rawGet(port, '/%2e%2e/%2e%2e/etc/passwd'), /^HTTP\/1\.1 403/);
    assert.match(await rawGet(port, '/..%5c..%5cpackage.json'), /^HTTP\/1\.1 403/);
    fs.mkdirSync(path.join(dir, 'site', 'sub'));
    assert.match(await rawGet(port, '/sub/'), /^HTTP\/1\.1 404/);
    fs.symlinkSync('/etc', path.join(dir, 'site', 'escape'));
    assert.match(await rawGet(port, '/escape/hostname'), /^HTTP\/1\.1 403/);
  });
});
