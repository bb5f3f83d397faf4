/**
 * A config's `data` section → dataset paths, datasets and loaders: what
 * `train`, `eval`, `predict`, `export` and `bench` share.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { DataConfig } from './data_config';
import { CocoDataset, loadCoco } from './coco';
import { DataLoader, LoaderOptions } from './loader';
import type { TransformOptions } from './transforms';
import { SYNTH_DESCRIPTION, SynthInfo, synthInfo, synthesize } from './synthetic';

export interface DataPaths { trainAnn: string; trainImages: string; valAnn: string; valImages: string }

/**
 * Resolves data paths. For `synthetic`: makes the dataset when absent; when it
 * was made with other options, makes it again under the work dir, but refuses
 * (never deletes) in a folder the user named with `data.root`.
 */
export function dataPaths(d: DataConfig, workDir: string, log: (s: string) => void): DataPaths {
  if (d.kind === 'synthetic') {
    const root = d.root ? path.resolve(d.root) : path.join(workDir, 'data');
    const p = { trainAnn: path.join(root, 'annotations/instances_train.json'), trainImages: path.join(root, 'train'), valAnn: path.join(root, 'annotations/instances_val.json'), valImages: path.join(root, 'val') };
    const want = { out: root, ...d.synthetic };
    const stale = staleSynthetic(p.trainAnn, synthInfo(want));
    if (stale && stale !== 'absent' && d.root) {
      // A folder the user named is theirs: report, never delete.
      throw new Error(`${p.trainAnn}: this synthetic dataset was made with other options than the config's data.synthetic (${stale}); remove the folder or change data.synthetic to match`);
    }
    if (stale || !fs.existsSync(p.valAnn)) {
      if (stale && stale !== 'absent') log(`the synthetic dataset in ${root} was made with other options (${stale}); making it again`);
      log(`making the synthetic shapes dataset in ${root} (${d.synthetic.images} train + ${d.synthetic.val} val images, ${d.synthetic.size}px, seed ${d.synthetic.seed})`);
      if (stale && stale !== 'absent') for (const sub of ['train', 'val', 'annotations']) fs.rmSync(path.join(root, sub), { recursive: true, force: true });
      synthesize(want);
    }
    return p;
  }
  const r = (f: string): string => path.resolve(d.root || '.', f);
  return { trainAnn: r(d.trainAnn), trainImages: r(d.trainImages), valAnn: r(d.valAnn), valImages: r(d.valImages) };
}

/**
 * Why the synthetic dataset at `annFile` does not match `want`: `absent`, the
 * differing options, or undefined when it matches. A file we did not make is
 * left alone (undefined): the user pointed `data.root` at it.
 */
function staleSynthetic(annFile: string, want: SynthInfo): string | undefined {
  if (!fs.existsSync(annFile)) return 'absent';
  let info: Partial<SynthInfo> | undefined;
  try {
    info = (JSON.parse(fs.readFileSync(annFile, 'utf8')) as { info?: Partial<SynthInfo> }).info;
  } catch {
    return undefined;
  }
  if (!info || info.description !== SYNTH_DESCRIPTION) return undefined;
  const diff = (Object.keys(want) as Array<keyof SynthInfo>).filter((k) => info![k] !== want[k]).map((k) => `${k} ${info![k]} → ${want[k]}`);
  return diff.length ? diff.join(', ') : undefined;
}

/** The resize and padding every loader and `predict` apply. */
export function transformOf(d: DataConfig): TransformOptions {
  const r = d.resize;
  return { resize: r.mode === 'square' ? { mode: 'square', size: r.size } : { mode: 'keepRatio', scale: r.scale }, sizeDivisor: d.sizeDivisor };
}

/** Mosaic and affine options of the training loader; their output size is the resize target. */
function augmentationOf(d: DataConfig): { mosaic?: LoaderOptions['mosaic']; randomAffine?: LoaderOptions['randomAffine'] } {
  const r = d.resize;
  const size: [number, number] = r.mode === 'square' ? [r.size, r.size] : [r.scale[0], r.scale[1]];
  const m = d.mosaic, a = d.randomAffine;
  if (a.enabled && !m.enabled) throw new Error('data.randomAffine needs data.mosaic (it crops the 2× mosaic canvas back to the image size)');
  return {
    mosaic: m.enabled ? { size, prob: m.prob, centerRange: m.centerRange } : undefined,
    randomAffine: a.enabled ? { size, maxRotate: a.maxRotate, scaleRange: a.scaleRange, maxShear: a.maxShear, maxTranslate: a.maxTranslate } : undefined,
  };
}

/** Worker threads, prefetch and the bad-image limit of both loaders. */
function loadingOf(d: DataConfig): Pick<LoaderOptions, 'workers' | 'prefetch' | 'maxBadFraction'> {
  return { workers: d.workers, prefetch: d.prefetch, maxBadFraction: d.maxBadFraction };
}

/** The evaluation loader: every image in file order, no augmentation. */
export function valLoader(d: DataConfig, batchSize: number, ds: CocoDataset): DataLoader {
  return new DataLoader(ds, { batchSize, train: false, transform: transformOf(d), ...loadingOf(d) });
}

/** The training loader: seeded shuffle, flips and (when on) mosaic and affine. */
export function trainLoader(d: DataConfig, batchSize: number, seed: number, ds: CocoDataset): DataLoader {
  return new DataLoader(ds, { batchSize, train: true, seed, flipProb: d.flipProb, transform: transformOf(d), ...augmentationOf(d), ...loadingOf(d) });
}

/** One split's annotations, checked as `data.checkFiles` says (empty images dropped for training when `data.filterEmpty`). */
export function loadSplit(d: DataConfig, ann: string, images: string, train: boolean, log: (s: string) => void): CocoDataset {
  return loadCoco(ann, { imagesDir: images, checkFiles: d.checkFiles, maxImagePixels: d.maxImagePixels, filterEmpty: train && d.filterEmpty, log });
}
