/**
 * The names of the kernels ghostdet adds to tfjs, in one place. Each is
 * implemented in the file named beside it and registered, per backend, by
 * `register_all_kernels.ts`; ops check `runsHere(NAME)` and compose tfjs ops
 * where it is not registered.
 */
export { NORM_AFFINE, NORM_AFFINE_GRAD } from './norm'; // fused BatchNorm/GroupNorm + affine (+ ReLU)
export { ADAMW_UPDATE, SUM_OF_SQUARES } from './optimizer'; // AdamW step, global gradient norm
export { WEIGHTED_SUMS } from './weighted_sum'; // Σ wⱼ·xⱼ over many tensors (EMA, replica mean, BN statistics)
export { SILU_GRAD } from './silu'; // SiLU's gradient from x and σ(x)
export { REPEAT_ROWS } from './repeat'; // the grouped conv's sum gradient
export { GROUPED_CONV, GROUPED_CONV_INPUT_GRAD, GROUPED_CONV_FILTER_GRAD } from './grouped_conv'; // grouped conv on the conv GEMMs

/** tfjs's own kernels that `register_all_kernels.ts` replaces, per backend (the file that does it in brackets). */
export const REPLACED_TFJS_KERNELS: Readonly<Record<string, readonly string[]>> = {
  wasm: [
    'Conv2D', // conv_gemm.ts (XNNPACK stays the fallback)
    'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', // conv_grad.ts
    'SplitV', 'Concat', // split_concat.ts
    'Identity', // identity.ts
    'Add', 'Relu', // elementwise.ts (same-shape and per-channel adds, Relu; on one thread)
  ],
  cpu: ['ResizeNearestNeighborGrad'], // resize_nearest_grad.ts
};
