/**
 * The preprocessing presets, kept apart from `video.ts` so that parsing flags does not load
 * fluent-ffmpeg.
 * @module
 */

/** The preprocessing presets. */
export const PRESETS = ["clip", "clip-video-encode-1.0"] as const;
/** A preprocessing preset: `clip` (CLIP's own, the default) or the 2022 encoder's quirks. */
export type Preset = typeof PRESETS[number];
