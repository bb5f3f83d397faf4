/**
 * `ghostdet convert IN OUT.safetensors`: any weights file we read (torch.save
 * zip or legacy, safetensors) → a plain safetensors file with the state_dict's
 * tensors byte for byte (dtypes kept, names after stripping `module.`). Needs
 * no tfjs.
 */
import * as fs from 'fs';
import { tensorByteLength, writeSafetensors } from '../weights/safetensors';
import { readWeights } from '../weights/weights_file';

export interface ConvertArgs {
  input: string;
  output: string;
  key?: string;
}

export function runConvert(a: ConvertArgs): void {
  if (!a.output.endsWith('.safetensors')) throw new Error(`${a.output}: the output must be a .safetensors file`);
  const w = readWeights(a.input, { key: a.key });
  writeSafetensors(a.output, w.tensors, { format: 'pt', source: a.input });
  const dtypes = new Map<string, number>();
  let bytes = 0;
  for (const t of w.tensors.values()) {
    dtypes.set(t.dtype, (dtypes.get(t.dtype) ?? 0) + 1);
    bytes += tensorByteLength(t);
  }
  const kinds = [...dtypes].map(([d, n]) => `${n} ${d}`).join(', ');
  console.log(`read ${a.input} (${w.format})${w.notes.length ? `: ${w.notes.join('; ')}` : ''}`);
  console.log(`kept ${w.tensors.size} tensors (${kinds}; ${(bytes / 2 ** 20).toFixed(1)} MiB)`);
  if (w.leftOut.length) console.log(`left out (not tensors of the state_dict): ${w.leftOut.join(', ')}`);
  console.log(`wrote ${a.output} (${(fs.statSync(a.output).size / 2 ** 20).toFixed(1)} MiB)`);
}
