// The SIMD kernels, one WebAssembly module that imports the tfjs-wasm heap
// (see engine/simd_module.ts). Built by `npm run build:simd`.
export { normMoments, normApply, normGradSums, normGradInput } from './norm';
export { sumSquares, adamwStep } from './optimizer';
export { depthwiseFilterGrad, depthwiseInputGrad } from './depthwise';
export { im2colT } from './im2col';
export { weightedSum2 } from './weighted_sum';
export { siluGrad } from './silu';
export { convPackFilter, convPackPhase, convForward, convFilterGrad, convFilterGradPacked, padRows } from './conv_gemm';
export { repeatRows } from './repeat';
export { copyRuns } from './copy_runs';
export { winogradPackFilter, winogradConv, winograd4Conv, winogradFilterGrad } from './winograd';
export { winograd4PackFilter } from './winograd4';
