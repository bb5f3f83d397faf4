/**
 * The page `ghostdet export` writes: loads model.json + the weights, then
 * runs the detector on images the user picks or drops, drawing the same SVG
 * the CLI draws. `window.ghostdet` exposes detection for the browser test.
 */
import type { Detection, Detector } from '../detectors/detector';
import { detectImage } from '../detectors/detect_image';
import { detectionsSvg } from '../eval/detections_svg';
import type { RgbImage } from '../data/image';
import { decodeInBrowser } from './decode_browser';
import { initPageBackend, PAGE_BACKENDS, PageBackend } from './browser_backend';
import { loadExportedModel } from './load_model';
import type { ExportMeta } from './export_meta';

interface Shown { img: RgbImage; dets: Detection[]; svgHost: HTMLElement }

export interface PageApi {
  backend: string;
  meta: ExportMeta;
  /** Detections (original pixels) and the time of `detectImage` for base64 image bytes. */
  detect(base64: string, name: string): Promise<{ detections: Detection[]; ms: number }>;
}

declare global {
  interface Window { ghostdet?: PageApi; ghostdetError?: string }
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

function drawImage(canvas: HTMLCanvasElement, img: RgbImage): void {
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext('2d')!;
  const d = ctx.createImageData(img.width, img.height);
  for (let i = 0, j = 0; i < img.width * img.height; i++, j += 4) {
    d.data[j] = img.data[i * 3];
    d.data[j + 1] = img.data[i * 3 + 1];
    d.data[j + 2] = img.data[i * 3 + 2];
    d.data[j + 3] = 255;
  }
  ctx.putImageData(d, 0, 0);
}

class Page {
  private readonly shown: Shown[] = [];
  private threshold: number;

  constructor(private readonly model: Detector, readonly meta: ExportMeta, readonly backend: string) {
    this.threshold = meta.scoreThr;
    const slider = $<HTMLInputElement>('score');
    slider.value = String(this.threshold);
    $('score-value').textContent = this.threshold.toFixed(2);
    slider.addEventListener('input', () => {
      this.threshold = Number(slider.value);
      $('score-value').textContent = this.threshold.toFixed(2);
      for (const s of this.shown) this.overlay(s);
    });
    $<HTMLInputElement>('files').addEventListener('change', (e) => void this.openFiles((e.target as HTMLInputElement).files));
    const drop = $('drop');
    drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); void this.openFiles(e.dataTransfer?.files ?? null); });
  }

  async detectBytes(bytes: Uint8Array, name: string): Promise<{ img: RgbImage; detections: Detection[]; ms: number }> {
    const img = await decodeInBrowser(bytes, name);
    const t0 = performance.now();
    const detections = await detectImage(this.model, img, this.meta.transform);
    return { img, detections, ms: performance.now() - t0 };
  }

  private overlay(s: Shown): void {
    s.svgHost.innerHTML = detectionsSvg({ width: s.img.width, height: s.img.height, detections: s.dets, names: this.meta.labels.names, scoreThr: this.threshold });
    const svg = s.svgHost.querySelector('svg')!;
    svg.setAttribute('width', '100%');
    svg.removeAttribute('height');
    const n = s.dets.filter((d) => d.score >= this.threshold).length;
    (s.svgHost.closest('figure')!.querySelector('.count') as HTMLElement).textContent = `${n} detection${n === 1 ? '' : 's'} ≥ ${this.threshold.toFixed(2)}`;
  }

  async openFiles(files: FileList | null): Promise<void> {
    for (const f of Array.from(files ?? [])) {
      const fig = document.createElement('figure');
      fig.innerHTML = `<div class="stack"><canvas></canvas><div class="svg"></div></div><figcaption><b></b> <span class="time"></span> · <span class="count"></span></figcaption>`;
      (fig.querySelector('b') as HTMLElement).textContent = f.name;
      $('results').prepend(fig);
      try {
        const r = await this.detectBytes(new Uint8Array(await f.arrayBuffer()), f.name);
        drawImage(fig.querySelector('canvas')!, r.img);
        const s: Shown = { img: r.img, dets: r.detections, svgHost: fig.querySelector('.svg') as HTMLElement };
        (fig.querySelector('.time') as HTMLElement).textContent = `${r.ms.toFixed(1)} ms on ${this.backend.split(' ')[0]}`;
        this.shown.push(s);
        this.overlay(s);
      } catch (e) {
        fig.classList.add('error');
        fig.querySelector('.stack')!.remove();
        (fig.querySelector('figcaption') as HTMLElement).textContent = (e as Error).message;
      }
    }
  }
}

async function main(): Promise<void> {
  const want = (new URLSearchParams(location.search).get('backend') ?? 'wasm') as PageBackend;
  if (!PAGE_BACKENDS.includes(want)) throw new Error(`unknown backend "${want}" (${PAGE_BACKENDS.join(', ')})`);
  const backend = await initPageBackend(want);
  const meta = (await (await fetch('model.json')).json()) as ExportMeta;
  const model = loadExportedModel(meta, await fetchBytes(meta.weights));
  const page = new Page(model, meta, backend);
  $('status').textContent = `${meta.model.head?.type === 'yolox' ? 'YOLOX' : 'RetinaNet'} + ${meta.model.backbone.name}, ${meta.labels.names.length} classes (${meta.labels.names.slice(0, 6).join(', ')}${meta.labels.names.length > 6 ? ', …' : ''}) · backend ${backend} · from ${meta.source.checkpoint}`;
  window.ghostdet = {
    backend, meta,
    async detect(base64: string, name: string) {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const r = await page.detectBytes(bytes, name);
      return { detections: r.detections, ms: r.ms };
    },
  };
}

main().catch((e: Error) => {
  window.ghostdetError = e.message;
  const s = document.getElementById('status');
  if (s) { s.textContent = `error: ${e.message}`; s.classList.add('error'); }
});
