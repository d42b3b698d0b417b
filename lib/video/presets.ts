/**
 * The preprocessing presets, kept apart from `ffmpeg.ts` so that parsing flags loads no decoder
 * code.
 * @module
 */

/** The preprocessing presets. */
export const PRESETS = ["clip", "clip-video-encode-1.0"] as const;
/** A preprocessing preset: `clip` (CLIP's own, the default) or the 2022 encoder's quirks. */
export type Preset = typeof PRESETS[number];
