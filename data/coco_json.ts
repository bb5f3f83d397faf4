/**
 * Reading a COCO-format JSON file (annotations or results) with errors that
 * name the file, the record and the problem. Shared by the dataset loader
 * (`data/`) and the evaluator (`eval/`); plain TypeScript, no tfjs.
 */
import { readRegularFile } from '../util/read_file';

/** Largest annotation file read (COCO's train2017 instances are 448 MB). */
export const MAX_JSON_BYTES = 2 ** 31;

/** A bad input file: names the file, the record and the problem. */
export class CocoFormatError extends Error {
  constructor(readonly file: string, readonly where: string, readonly problem: string) {
    super(`${file}: ${where}: ${problem}`);
    this.name = 'CocoFormatError';
  }
}

/** Parses a JSON file with an error that names it. */
export function readJson(file: string): unknown {
  let text: string;
  try {
    text = readRegularFile(file, 'annotation file', MAX_JSON_BYTES).toString('utf8');
  } catch (e) {
    throw new CocoFormatError(file, 'file', (e as Error).message.replace(`${file}: `, ''));
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CocoFormatError(file, 'JSON', `malformed: ${(e as Error).message}`);
  }
}
