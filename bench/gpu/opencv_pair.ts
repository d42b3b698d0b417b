/**
 * Writes a pair for checking the OpenCV-style resize against real OpenCV where `cv2` exists (the
 * GPU machine's Python has it): `cv2_src.npy` (the demo clip's first frame, full size, BGR) and
 * `cv2_ours.npy` (our INTER_CUBIC resize of it to the preset's size). `opencv_check.py` compares.
 *
 *   deno run -A bench/gpu/opencv_pair.ts OUT_DIR
 */
import { join } from "node:path";
import { writeNpy } from "../../lib/base/npy.ts";
import { resizeCubicOpenCv } from "../../lib/video/opencv_cubic_resize.ts";
import { clipGeometry } from "../../lib/video/ffmpeg.ts";

const out = Deno.args[0] ?? ".";
const clip = new URL("../../fixtures/kinetics_demo_clip.mp4", import.meta.url).pathname;
const w = 340, h = 256;
const r = await new Deno.Command("ffmpeg", {
  args: ["-v", "error", "-i", clip, "-frames:v", "1", "-pix_fmt", "bgr24", "-f", "rawvideo", "-"],
  stdout: "piped",
}).output();
const src = r.stdout.subarray(0, w * h * 3);
const g = clipGeometry(w, h, "clip-video-encode-1.0");
const ours = resizeCubicOpenCv(src, w, h, 3, g.scaleWidth, g.scaleHeight);
await Deno.mkdir(out, { recursive: true });
await Deno.writeFile(
  join(out, "cv2_src.npy"),
  writeNpy({ dtype: "<u1", shape: [h, w, 3], data: src }),
);
await Deno.writeFile(
  join(out, "cv2_ours.npy"),
  writeNpy({ dtype: "<u1", shape: [g.scaleHeight, g.scaleWidth, 3], data: ours }),
);
console.log(
  `wrote ${out}/cv2_src.npy (${h}x${w}) and cv2_ours.npy (${g.scaleHeight}x${g.scaleWidth})`,
);
