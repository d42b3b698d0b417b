/**
 * Looks at an HTML file in headless Chromium (Debian's `chromium`, installed by
 * `./kinembed test`): the DOM it parsed, and a screenshot kept in a temp dir (never in the repo)
 * whose pixels an independent reader (Python's zlib, no imaging library) counts.
 * @module
 */
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** What Chromium made of a page. */
export interface ChromiumView {
  /** The DOM after parsing and layout (`--dump-dom`). */
  dom: string;
  /** The screenshot (in a temp dir the caller removes). */
  png: string;
  /** Its width and height. */
  size: [number, number];
  /** Share of pixels that are not near-white. */
  inked: number;
  /** Pixels of each asked-for colour (within ±6 per channel), keyed `r,g,b`. */
  colours: Record<string, number>;
}

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

// PNG rows are filtered (none, sub, up, average, paeth); undo that and count pixels.
const PNG_PIXELS = `
import json, struct, sys, zlib
import numpy as np
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\\x89PNG\\r\\n\\x1a\\n", "not a PNG"
pos, idat, hdr = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR": hdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT": idat += body
    pos += 12 + n
w, h, depth, ctype = hdr[:4]
assert depth == 8 and ctype in (2, 6), hdr
bpp = 3 if ctype == 2 else 4
rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, w * bpp + 1)
img = np.zeros((h, w * bpp), np.uint8)
prev = np.zeros(w * bpp, np.uint8)
for y in range(h):
    f, row = rows[y, 0], rows[y, 1:]
    if f == 0: cur = row.copy()
    elif f == 1: cur = np.cumsum(row.reshape(w, bpp), axis=0, dtype=np.uint8).reshape(-1)
    elif f == 2: cur = row + prev
    else:
        cur, r, b = row.astype(np.int64), row.tolist(), prev.astype(np.int64).tolist()
        out = [0] * (w * bpp)
        for i in range(w * bpp):
            a = out[i - bpp] if i >= bpp else 0
            c = b[i - bpp] if i >= bpp else 0
            if f == 3: pred = (a + b[i]) // 2
            else:
                p = a + b[i] - c
                pa, pb, pc = abs(p - a), abs(p - b[i]), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b[i] if pb <= pc else c
            out[i] = (r[i] + pred) & 255
        cur = np.array(out, np.uint8)
    img[y] = cur
    prev = cur
px = img.reshape(h, w, bpp)[:, :, :3].astype(np.int16)
inked = float((px < 235).any(axis=2).mean())
counts = {}
for key in sys.argv[2:]:
    col = np.array([int(v) for v in key.split(",")], np.int16)
    counts[key] = int((np.abs(px - col) <= 6).all(axis=2).sum())
print(json.dumps({"size": [w, h], "inked": inked, "colours": counts}))
`;

async function chromium(args: string[]): Promise<string> {
  const out = await new Deno.Command("chromium", {
    args: [...FLAGS, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output().catch((e) => {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error("chromium is not installed: ./kinembed test installs it (apt chromium)");
    }
    throw e;
  });
  if (!out.success) {
    throw new Error(`chromium ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/**
 * Opens an HTML file in headless Chromium: its DOM, a 1280×`height` (default 2000) screenshot,
 * and pixel counts.
 * @param html the page (a local file)
 * @param tmp a temp dir for the browser profile and the screenshot
 * @param colours `r,g,b` colours to count in the screenshot
 * @returns what the browser made of it
 */
export async function viewInChromium(
  html: string,
  tmp: string,
  colours: string[] = [],
  height = 2000,
): Promise<ChromiumView> {
  const url = pathToFileURL(resolve(html)).href;
  const png = join(tmp, "page.png");
  const profile = (name: string) => `--user-data-dir=${join(tmp, name)}`;
  const dom = await chromium([profile("dom"), "--dump-dom", url]);
  await chromium([profile("shot"), `--screenshot=${png}`, `--window-size=1280,${height}`, url]);
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", PNG_PIXELS, png, ...colours],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  const px = JSON.parse(new TextDecoder().decode(out.stdout));
  return { dom, png, size: px.size, inked: px.inked, colours: px.colours };
}
