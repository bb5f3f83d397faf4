/** Worker thread of `checkImagesParallel`: checks the chunks of records it is sent. */
import { parentPort } from 'worker_threads';
import { checkImageFile, FileCheckMode, FileCheckResult, ImageRecord } from './image_check';
import type { ImageLimits } from './image_file';

export interface CheckChunk { mode: FileCheckMode; limits: ImageLimits; images: ImageRecord[] }
export interface CheckChunkReply { ids: number[]; results: FileCheckResult[] }

parentPort!.on('message', (m: CheckChunk) => {
  const reply: CheckChunkReply = { ids: m.images.map((im) => im.id), results: m.images.map((im) => checkImageFile(im, m.mode, m.limits)) };
  parentPort!.postMessage(reply);
});
