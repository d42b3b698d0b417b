/**
 * Everything that knows ffmpeg: the presets, probing and decoding a video into CLIP-sized
 * frames, the OpenCV-style cubic resize, the Pillow-exact bicubic resize, and the sample step.
 * @module
 */
export * from "./presets.ts";
export * from "./ffmpeg.ts";
export * from "./opencv_cubic_resize.ts";
export * from "./pillow_resize.ts";
export * from "./sample.ts";
