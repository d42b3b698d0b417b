/**
 * Reference resizes by Debian's Pillow (`python3-pil`, run as /usr/bin/python3): what CLIP's
 * torchvision preprocessing does to a PIL image.
 */
import { join } from "node:path";
import { tempDir } from "./media.ts";

/** One image for Pillow to resize (and crop). */
export interface PillowCase {
  /** RGB pixels, (height, width, 3). */
  rgb: Uint8Array;
  /** Source width. */
  width: number;
  /** Source height. */
  height: number;
  /** Size after `Image.resize((dstWidth, dstHeight), Image.BICUBIC)`. */
  dstWidth: number;
  /** Height after the resize. */
  dstHeight: number;
  /** `Image.crop((x, y, x + w, y + h))` after the resize, if given. */
  crop?: { x: number; y: number; width: number; height: number };
}

const SCRIPT = `import json, sys
from PIL import Image
d = sys.argv[1]
for i, c in enumerate(json.load(open(d + "/cases.json"))):
    raw = open("%s/%d.in" % (d, i), "rb").read()
    im = Image.frombytes("RGB", (c["width"], c["height"]), raw)
    im = im.resize((c["dstWidth"], c["dstHeight"]), Image.BICUBIC)
    if c.get("crop"):
        b = c["crop"]
        im = im.crop((b["x"], b["y"], b["x"] + b["width"], b["y"] + b["height"]))
    open("%s/%d.out" % (d, i), "wb").write(im.tobytes())
`;

/**
 * Resizes each case with Pillow's BICUBIC in one python process.
 * @param cases the images
 * @returns Pillow's RGB output per case
 */
export async function pillowResize(cases: PillowCase[]): Promise<Uint8Array[]> {
  const { dir, cleanup } = await tempDir("kinembed-pillow-");
  try {
    await Deno.writeTextFile(
      join(dir, "cases.json"),
      JSON.stringify(cases.map(({ rgb: _, ...c }) => c)),
    );
    for (const [i, c] of cases.entries()) await Deno.writeFile(join(dir, `${i}.in`), c.rgb);
    const out = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", SCRIPT, dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`python3 + PIL failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    return await Promise.all(cases.map((_, i) => Deno.readFile(join(dir, `${i}.out`))));
  } finally {
    await cleanup();
  }
}

/** Pillow's version, for messages. */
export async function pillowVersion(): Promise<string> {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", "import PIL; print(PIL.__version__)"],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

/**
 * How two equal-length byte arrays differ.
 * @returns the count of differing bytes, the largest difference and the first differing index
 */
export function byteDiff(
  a: Uint8Array,
  b: Uint8Array,
): { differing: number; max: number; first: number } {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let differing = 0, max = 0, first = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d) {
      differing++;
      if (first < 0) first = i;
      if (d > max) max = d;
    }
  }
  return { differing, max, first };
}
