/**
 * What CLIP's image tower takes: square RGB frames of one side, normalised per channel with
 * OpenAI's mean and standard deviation. The sampler, the model builder and the encoder all read
 * these, so they live below all three.
 * @module
 */

/** The side of CLIP's square input, in pixels. */
export const CLIP_SIZE = 224;

/** CLIP's per-channel RGB mean, on pixels scaled to [0,1]. */
export const CLIP_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];

/** CLIP's per-channel RGB standard deviation, on pixels scaled to [0,1]. */
export const CLIP_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];
