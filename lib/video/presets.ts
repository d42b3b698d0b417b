/**
 * The preprocessing presets, kept apart from `ffmpeg.ts` so that parsing flags loads no decoder
 * code.
 * @module
 */

/** The preprocessing presets. */
export const PRESETS = ["clip", "clip-swscale", "clip-video-encode-1.0"] as const;
/**
 * A preprocessing preset: `clip` (CLIP's own: Pillow's bicubic and torchvision's crop, byte for
 * byte; the default), `clip-swscale` (the same geometry resized by ffmpeg's swscale: faster, not
 * Pillow's pixels) or `clip-video-encode-1.0` (the 2022 encoder's OpenCV resize and BGR order).
 */
export type Preset = typeof PRESETS[number];
