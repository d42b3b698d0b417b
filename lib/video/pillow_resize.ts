/**
 * Pillow's `Image.resize(size, Image.BICUBIC)` for 8-bit images, computed the way its
 * `Resample.c` does, so that the `clip` preset gives the pixels CLIP's own preprocessing
 * (torchvision's `Resize(224, BICUBIC)` + `CenterCrop(224)` on a PIL image) gives:
 *
 * - the kernel is Keys cubic with a = −0.5 over a support of 2, widened by the scale when
 *   shrinking (Pillow's antialias: the filter is stretched to cover `scale` source pixels);
 * - output pixel d is centred at source coordinate `(d + 0.5)·scale`; the taps run over source
 *   pixels `[trunc(centre − support + 0.5), trunc(centre + support + 0.5))` cut to the image,
 *   each weighted by `filter((x − centre + 0.5) / filterscale)`, normalised to sum 1 in float64;
 * - weights become 22-bit fixed point (`trunc(w·2²² ± 0.5)`), sums start at 2²¹ (rounding),
 *   and `sum >> 22` is clipped to 0..255;
 * - a horizontal pass (skipped when the width is unchanged) writes 8-bit rows, then a vertical
 *   pass (skipped when the height is unchanged) reads them.
 *
 * Each output pixel depends only on its own taps, so a crop of the resized image is computed
 * directly: only the rows and columns inside the window are resized, with the same bytes.
 * @module
 */

const PRECISION_BITS = 32 - 8 - 2;
const HALF = 1 << (PRECISION_BITS - 1);
const ONE = 1 << PRECISION_BITS;
const SUPPORT = 2;

/** Pillow's `bicubic_filter`: Keys cubic with a = −0.5. */
function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Fixed-point taps along one axis: for output index d, `count[d]` weights from source `first[d]`. */
interface Taps {
  first: Int32Array;
  count: Int32Array;
  /** `ksize` weights per output index, 22-bit fixed point. */
  weights: Int32Array;
  ksize: number;
}

/** Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for output indices [from, from + n). */
function taps(inSize: number, outSize: number, from: number, n: number): Taps {
  const scale = inSize / outSize;
  const filterscale = scale < 1 ? 1 : scale;
  const support = SUPPORT * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(n), count = new Int32Array(n);
  const weights = new Int32Array(n * ksize);
  const k = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let i = 0; i < n; i++) {
    const center = (from + i + 0.5) * scale;
    // C's (int) cast truncates toward zero
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubic((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? k[x] / ww : k[x];
      weights[i * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    first[i] = xmin;
    count[i] = xmax;
  }
  return { first, count, weights, ksize };
}

/** Pillow's `clip8`: the fixed-point sum shifted down (flooring) and clipped to 0..255. */
function clip8(sum: number): number {
  const v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** A window of the resized image: `width × height` pixels from (x, y). */
export interface ResizeWindow {
  /** Left edge in the resized image. */
  x: number;
  /** Top edge in the resized image. */
  y: number;
  /** Width of the window. */
  width: number;
  /** Height of the window. */
  height: number;
}

/**
 * Resizes an interleaved 8-bit image with Pillow's bicubic filter, byte for byte as Pillow 9
 * (`Image.resize(size, Image.BICUBIC)`, then `.crop(window)` when a window is given).
 * @param src pixels, (height, width, channels) C order
 * @param width source width
 * @param height source height
 * @param channels channels per pixel
 * @param dstWidth width of the resized image
 * @param dstHeight height of the resized image
 * @param window the part of the resized image to return (default: all of it)
 * @returns the pixels of the window, (window.height, window.width, channels)
 * @example
 * ```ts
 * import { resizeBicubicPillow } from "./pillow_resize.ts";
 * const grey = new Uint8Array(8 * 6 * 3).fill(90);
 * const out = resizeBicubicPillow(grey, 8, 6, 3, 4, 3);
 * console.assert(out.length === 4 * 3 * 3 && out.every((v) => v === 90));
 * ```
 */
export function resizeBicubicPillow(
  src: Uint8Array,
  width: number,
  height: number,
  channels: number,
  dstWidth: number,
  dstHeight: number,
  window: ResizeWindow = { x: 0, y: 0, width: dstWidth, height: dstHeight },
): Uint8Array {
  if (src.length !== width * height * channels) {
    throw new RangeError(`${src.length} bytes is not ${width}x${height}x${channels}`);
  }
  const stream = new PillowResizeStream(width, height, channels, dstWidth, dstHeight, window);
  stream.write(src);
  return stream.end();
}

/**
 * {@linkcode resizeBicubicPillow} fed the source image in pieces as they arrive (a decoder's
 * pipe): each source row goes through the horizontal pass as soon as it is complete, so what is
 * held is one source row and the window's columns of the rows the vertical pass reads, never the
 * whole source image. The bytes are `resizeBicubicPillow`'s.
 * @example
 * ```ts
 * import { PillowResizeStream, resizeBicubicPillow } from "./pillow_resize.ts";
 * const src = new Uint8Array(16 * 12 * 3).map((_, i) => (i * 37) % 256);
 * const stream = new PillowResizeStream(16, 12, 3, 8, 6);
 * for (let at = 0; at < src.length; at += 100) stream.write(src.subarray(at, at + 100));
 * const whole = resizeBicubicPillow(src, 16, 12, 3, 8, 6);
 * console.assert(stream.end().every((v, i) => v === whole[i]));
 * ```
 */
export class PillowResizeStream {
  readonly #width: number;
  readonly #height: number;
  readonly #channels: number;
  readonly #win: ResizeWindow;
  /** Vertical taps (none when the height is unchanged). */
  readonly #v: Taps | undefined;
  /** Horizontal taps (none when the width is unchanged). */
  readonly #h: Taps | undefined;
  /** The source rows the vertical pass reads (all of the window's rows when it is skipped). */
  readonly #rowFirst: number;
  readonly #rowEnd: number;
  /** The window's columns of rows [rowFirst, rowEnd), after the horizontal pass. */
  readonly #mid: Uint8Array;
  /** A source row split across writes. */
  readonly #row: Uint8Array;
  #rowFilled = 0;
  /** The next source row to arrive. */
  #y = 0;

  /**
   * Prepares the taps and the buffers for one image.
   * @param width source width
   * @param height source height
   * @param channels channels per pixel
   * @param dstWidth width of the resized image
   * @param dstHeight height of the resized image
   * @param window the part of the resized image to compute (default: all of it)
   */
  constructor(
    width: number,
    height: number,
    channels: number,
    dstWidth: number,
    dstHeight: number,
    window: ResizeWindow = { x: 0, y: 0, width: dstWidth, height: dstHeight },
  ) {
    const win = window;
    if (
      win.x < 0 || win.y < 0 || win.width < 0 || win.height < 0 ||
      win.x + win.width > dstWidth || win.y + win.height > dstHeight
    ) {
      throw new RangeError(
        `window ${win.width}x${win.height}+${win.x}+${win.y} outside ${dstWidth}x${dstHeight}`,
      );
    }
    this.#width = width;
    this.#height = height;
    this.#channels = channels;
    this.#win = win;
    this.#v = dstHeight !== height ? taps(height, dstHeight, win.y, win.height) : undefined;
    this.#h = dstWidth !== width ? taps(width, dstWidth, win.x, win.width) : undefined;
    const v = this.#v;
    this.#rowFirst = v ? v.first[0] : win.y;
    this.#rowEnd = v ? v.first[win.height - 1] + v.count[win.height - 1] : win.y + win.height;
    const rows = win.height === 0 ? 0 : this.#rowEnd - this.#rowFirst;
    this.#mid = new Uint8Array(rows * win.width * channels);
    this.#row = new Uint8Array(width * channels);
  }

  /**
   * Takes the next bytes of the source image, (height, width, channels) C order.
   * @param bytes any number of bytes, continuing where the last write stopped
   */
  write(bytes: Uint8Array): void {
    const rowBytes = this.#row.length;
    let off = 0;
    if (this.#rowFilled > 0) {
      const n = Math.min(bytes.length, rowBytes - this.#rowFilled);
      this.#row.set(bytes.subarray(0, n), this.#rowFilled);
      this.#rowFilled += n;
      off = n;
      if (this.#rowFilled < rowBytes) return;
      this.#rowFilled = 0;
      this.#sourceRow(this.#row, 0);
    }
    for (; bytes.length - off >= rowBytes && rowBytes > 0; off += rowBytes) {
      this.#sourceRow(bytes, off);
    }
    if (off < bytes.length) {
      this.#row.set(bytes.subarray(off), 0);
      this.#rowFilled = bytes.length - off;
    }
  }

  /**
   * Runs the vertical pass once the whole source image was written.
   * @returns the pixels of the window, (window.height, window.width, channels)
   */
  end(): Uint8Array {
    if (this.#y !== this.#height || this.#rowFilled !== 0) {
      const got = this.#y * this.#row.length + this.#rowFilled;
      throw new RangeError(
        `${got} bytes is not ${this.#width}x${this.#height}x${this.#channels}`,
      );
    }
    return this.#v
      ? verticalPass(this.#mid, this.#v, this.#win, this.#channels, this.#rowFirst)
      : this.#mid;
  }

  /** The horizontal pass of source row `#y`, which starts at `src[at]`, when it is read. */
  #sourceRow(src: Uint8Array, at: number): void {
    const y = this.#y++;
    if (y >= this.#height) {
      throw new RangeError(`more than ${this.#width}x${this.#height}x${this.#channels} bytes`);
    }
    if (y < this.#rowFirst || y >= this.#rowEnd) return;
    const channels = this.#channels, win = this.#win;
    const rowLen = win.width * channels;
    const drow = (y - this.#rowFirst) * rowLen;
    const mid = this.#mid, h = this.#h;
    if (!h) {
      mid.set(src.subarray(at + win.x * channels, at + win.x * channels + rowLen), drow);
      return;
    }
    const weights = h.weights;
    for (let d = 0; d < win.width; d++) {
      const wBase = d * h.ksize, n = h.count[d];
      const s0 = at + h.first[d] * channels;
      if (channels === 3) {
        // RGB, the common case: three sums in one sweep over the taps, in int32 as Pillow's
        // are (a byte times a 22-bit weight, and every partial sum, stays below 2³¹)
        let s0r = HALF, s0g = HALF, s0b = HALF;
        for (let x = 0, p = s0; x < n; x++, p += 3) {
          const w = weights[wBase + x];
          s0r = (s0r + Math.imul(src[p], w)) | 0;
          s0g = (s0g + Math.imul(src[p + 1], w)) | 0;
          s0b = (s0b + Math.imul(src[p + 2], w)) | 0;
        }
        const o = drow + d * 3;
        mid[o] = clip8(s0r);
        mid[o + 1] = clip8(s0g);
        mid[o + 2] = clip8(s0b);
        continue;
      }
      for (let ch = 0; ch < channels; ch++) {
        let ss = HALF;
        for (let x = 0; x < n; x++) ss += src[s0 + x * channels + ch] * weights[wBase + x];
        mid[drow + d * channels + ch] = clip8(ss);
      }
    }
  }
}

/**
 * The vertical pass over the window's columns, one source row at a time, in int32 (the sums are
 * Pillow's: bounded as in the horizontal pass, so the order of additions does not matter).
 */
function verticalPass(
  mid: Uint8Array,
  v: Taps,
  win: ResizeWindow,
  channels: number,
  rowFirst: number,
): Uint8Array {
  const rowLen = win.width * channels;
  const out = new Uint8Array(win.height * rowLen);
  const vw = v.weights;
  for (let d = 0; d < win.height; d++) {
    const wBase = d * v.ksize, n = v.count[d];
    const r0 = (v.first[d] - rowFirst) * rowLen;
    const orow = d * rowLen;
    if (n === 5) {
      // five taps: any shrink of 256 rows (the short side of prepared Kinetics copies) to 224;
      // the rows and weights held in registers
      const w0 = vw[wBase], w1 = vw[wBase + 1], w2 = vw[wBase + 2], w3 = vw[wBase + 3];
      const w4 = vw[wBase + 4];
      const p1 = r0 + rowLen, p2 = p1 + rowLen, p3 = p2 + rowLen, p4 = p3 + rowLen;
      for (let i = 0; i < rowLen; i++) {
        const sum = (HALF + Math.imul(mid[r0 + i], w0) + Math.imul(mid[p1 + i], w1) +
          Math.imul(mid[p2 + i], w2) + Math.imul(mid[p3 + i], w3) + Math.imul(mid[p4 + i], w4)) | 0;
        out[orow + i] = clip8(sum);
      }
      continue;
    }
    for (let i = 0; i < rowLen; i++) {
      let sum = HALF;
      for (let y = 0, p = r0 + i; y < n; y++, p += rowLen) {
        sum = (sum + Math.imul(mid[p], vw[wBase + y])) | 0;
      }
      out[orow + i] = clip8(sum);
    }
  }
  return out;
}
