/**
 * SVG → PNG for the CLI with `@resvg/resvg-js` (a maintained Rust
 * rasteriser, prebuilt binaries, no system libraries), with the DejaVu fonts
 * shipped by `dejavu-fonts-ttf` so text renders the same on a machine with no
 * fonts installed.
 */
import { Resvg } from '@resvg/resvg-js';

const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((f) => require.resolve(`dejavu-fonts-ttf/ttf/${f}`));

export function svgToPng(svg: string): Buffer {
  const r = new Resvg(svg, { font: { fontFiles: FONT_FILES, loadSystemFonts: false, defaultFontFamily: 'DejaVu Sans' } });
  return r.render().asPng();
}
