/**
 * CLIP's byte-level BPE text tokenizer, a port of OpenAI CLIP's `clip/simple_tokenizer.py`
 * (MIT License, Copyright (c) 2021 OpenAI; see `data/README.md`) and of `clip.tokenize`.
 *
 * Text is cleaned as CLIP does (HTML unescaped twice, whitespace runs collapsed to one space,
 * trimmed, lower-cased), split with CLIP's Unicode pattern, each piece's UTF-8 bytes mapped to
 * printable symbols and merged by rank. Where it differs from the Python original:
 * - `ftfy.fix_text` is not run; only its Unicode NFC normalisation is applied, so `cafe\u0301`
 *   and `café` give the same ids (ftfy's mojibake, quote and ligature repairs are not done);
 * - HTML unescaping follows Python's `html.unescape` exactly for numeric references and for the
 *   HTML 4 named entities plus `&apos;` (259 names, with the legacy no-semicolon forms), not for
 *   the rarer HTML5-only names, which are left as written.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { ClipTokenizer } from "./clip_tokenizer.ts";
 * const tokenizer = await ClipTokenizer.load();
 * deepStrictEqual(tokenizer.encode("a diagram"), [320, 22697]);
 * const ids = tokenizer.tokenize(["a diagram"]); // BigInt64Array, [1, 77] row-major
 * deepStrictEqual(Array.from(ids.slice(0, 5)), [49406n, 320n, 22697n, 49407n, 0n]);
 * ```
 * @module
 */
import { gunzipSync } from "node:zlib";
import { FormatError } from "../core/mod.ts";
import { defaultVocabPath } from "../dataset/mod.ts";

/** Id of `<|startoftext|>`, put before every tokenized text. */
export const START_OF_TEXT = 49406;
/** Id of `<|endoftext|>`, put after every tokenized text (and where a truncated one is cut). */
export const END_OF_TEXT = 49407;
/** CLIP's text context length: every tokenized row has this many ids. */
export const CONTEXT_LENGTH = 77;
/** Number of tokens in CLIP's vocabulary: 256 bytes, 256 end-of-word bytes, merges, 2 specials. */
export const CLIP_VOCAB_SIZE = 49408;

/** Merges CLIP reads from the vocabulary file: `49152 - 256 - 2`, lines 1..48894. */
const MERGE_COUNT = CLIP_VOCAB_SIZE - 256 * 2 - 2;
const START_TOKEN = "<|startoftext|>";
const END_TOKEN = "<|endoftext|>";
const END_OF_WORD = "</w>";

/** Options of {@linkcode ClipTokenizer.tokenize}. */
export interface TokenizeOptions {
  /** Ids per row, start and end tokens included; default 77. */
  contextLength?: number;
  /**
   * Cut texts that do not fit, ending them with `<|endoftext|>` as `clip.tokenize(truncate=True)`
   * does; default false, where such a text throws {@linkcode TextTooLongError}.
   */
  truncate?: boolean;
}

/** A text needs more ids than the context length and truncation was not asked for. */
export class TextTooLongError extends RangeError {
  /** The error class name, shown in messages. */
  override name = "TextTooLongError";

  /**
   * Builds a message naming the text, its index and its length in ids.
   * @param index position of the text in the batch
   * @param text the text
   * @param tokenCount ids it needs, start and end tokens included
   * @param contextLength ids available per row
   */
  constructor(
    readonly index: number,
    readonly text: string,
    readonly tokenCount: number,
    readonly contextLength: number,
  ) {
    const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
    super(
      `text ${index} (${JSON.stringify(shown)}) needs ${tokenCount} tokens, more than the ` +
        `context length ${contextLength}; shorten it or pass truncate: true`,
    );
  }
}

/**
 * CLIP's table from bytes to printable characters: printable Latin-1 bytes map to themselves,
 * the others to code points from 256 up, in byte order. Entry order matters: it is the order of
 * the first 256 vocabulary entries.
 */
function bytesToUnicode(): [number, string][] {
  const bytes: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bytes.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bytes.push(b);
  for (let b = 0xae; b <= 0xff; b++) bytes.push(b);
  const chars = bytes.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) {
      bytes.push(b);
      chars.push(256 + n);
      n++;
    }
  }
  return bytes.map((b, i) => [b, String.fromCodePoint(chars[i])]);
}

// Python's str.isspace() set, used by CLIP's `re.sub(r"\s+", " ")` and `str.strip()`; JavaScript's
// `\s` and `trim()` differ (they take U+FEFF, leave U+001C..U+001F and U+0085).
const PY_SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f" +
  "\\u205f\\u3000";
const PY_SPACE_RUN = new RegExp(`[${PY_SPACE}]+`, "gu");
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "gu");

// CLIP's split pattern (Python `regex`, IGNORECASE); `regex`'s `\s` is Unicode White_Space.
const CLIP_PATTERN =
  /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\p{White_Space}\p{L}\p{N}]+/giu;

// HTML 4 named entities plus `apos` and the upper-case aliases, as `name:hex code point`, with the
// values of Python's `html.entities.html5` (so `lang`/`rang` are U+27E8/U+27E9).
const NAMED_ENTITY_TABLE = `
AElig:c6 AMP:26 Aacute:c1 Acirc:c2 Agrave:c0 Alpha:391 Aring:c5 Atilde:c3 Auml:c4 Beta:392
COPY:a9 Ccedil:c7 Chi:3a7 Dagger:2021 Delta:394 ETH:d0 Eacute:c9 Ecirc:ca Egrave:c8
Epsilon:395 Eta:397 Euml:cb GT:3e Gamma:393 Iacute:cd Icirc:ce Igrave:cc Iota:399 Iuml:cf
Kappa:39a LT:3c Lambda:39b Mu:39c Ntilde:d1 Nu:39d OElig:152 Oacute:d3 Ocirc:d4 Ograve:d2
Omega:3a9 Omicron:39f Oslash:d8 Otilde:d5 Ouml:d6 Phi:3a6 Pi:3a0 Prime:2033 Psi:3a8 QUOT:22
REG:ae Rho:3a1 Scaron:160 Sigma:3a3 THORN:de Tau:3a4 Theta:398 Uacute:da Ucirc:db Ugrave:d9
Upsilon:3a5 Uuml:dc Xi:39e Yacute:dd Yuml:178 Zeta:396 aacute:e1 acirc:e2 acute:b4 aelig:e6
agrave:e0 alefsym:2135 alpha:3b1 amp:26 and:2227 ang:2220 apos:27 aring:e5 asymp:2248
atilde:e3 auml:e4 bdquo:201e beta:3b2 brvbar:a6 bull:2022 cap:2229 ccedil:e7 cedil:b8 cent:a2
chi:3c7 circ:2c6 clubs:2663 cong:2245 copy:a9 crarr:21b5 cup:222a curren:a4 dArr:21d3
dagger:2020 darr:2193 deg:b0 delta:3b4 diams:2666 divide:f7 eacute:e9 ecirc:ea egrave:e8
empty:2205 emsp:2003 ensp:2002 epsilon:3b5 equiv:2261 eta:3b7 eth:f0 euml:eb euro:20ac
exist:2203 fnof:192 forall:2200 frac12:bd frac14:bc frac34:be frasl:2044 gamma:3b3 ge:2265
gt:3e hArr:21d4 harr:2194 hearts:2665 hellip:2026 iacute:ed icirc:ee iexcl:a1 igrave:ec
image:2111 infin:221e int:222b iota:3b9 iquest:bf isin:2208 iuml:ef kappa:3ba lArr:21d0
lambda:3bb lang:27e8 laquo:ab larr:2190 lceil:2308 ldquo:201c le:2264 lfloor:230a lowast:2217
loz:25ca lrm:200e lsaquo:2039 lsquo:2018 lt:3c macr:af mdash:2014 micro:b5 middot:b7
minus:2212 mu:3bc nabla:2207 nbsp:a0 ndash:2013 ne:2260 ni:220b not:ac notin:2209 nsub:2284
ntilde:f1 nu:3bd oacute:f3 ocirc:f4 oelig:153 ograve:f2 oline:203e omega:3c9 omicron:3bf
oplus:2295 or:2228 ordf:aa ordm:ba oslash:f8 otilde:f5 otimes:2297 ouml:f6 para:b6 part:2202
permil:2030 perp:22a5 phi:3c6 pi:3c0 piv:3d6 plusmn:b1 pound:a3 prime:2032 prod:220f prop:221d
psi:3c8 quot:22 rArr:21d2 radic:221a rang:27e9 raquo:bb rarr:2192 rceil:2309 rdquo:201d
real:211c reg:ae rfloor:230b rho:3c1 rlm:200f rsaquo:203a rsquo:2019 sbquo:201a scaron:161
sdot:22c5 sect:a7 shy:ad sigma:3c3 sigmaf:3c2 sim:223c spades:2660 sub:2282 sube:2286 sum:2211
sup:2283 sup1:b9 sup2:b2 sup3:b3 supe:2287 szlig:df tau:3c4 there4:2234 theta:3b8 thetasym:3d1
thinsp:2009 thorn:fe tilde:2dc times:d7 trade:2122 uArr:21d1 uacute:fa uarr:2191 ucirc:fb
ugrave:f9 uml:a8 upsih:3d2 upsilon:3c5 uuml:fc weierp:2118 xi:3be yacute:fd yen:a5 yuml:ff
zeta:3b6 zwj:200d zwnj:200c`;

// Names HTML also recognises without the semicolon (Python's html5 keys without `;`).
const LEGACY_ENTITY_NAMES = `
AElig AMP Aacute Acirc Agrave Aring Atilde Auml COPY Ccedil ETH Eacute Ecirc Egrave Euml GT
Iacute Icirc Igrave Iuml LT Ntilde Oacute Ocirc Ograve Oslash Otilde Ouml QUOT REG THORN
Uacute Ucirc Ugrave Uuml Yacute aacute acirc acute aelig agrave amp aring atilde auml brvbar
ccedil cedil cent copy curren deg divide eacute ecirc egrave eth euml frac12 frac14 frac34 gt
iacute icirc iexcl igrave iquest iuml laquo lt macr micro middot nbsp not ntilde oacute ocirc
ograve ordf ordm oslash otilde ouml para plusmn pound quot raquo reg sect shy sup1 sup2 sup3
szlig thorn times uacute ucirc ugrave uml uuml yacute yen yuml`;

/** Entity name (with `;`, or a legacy name without it) to its text, like Python's `html5`. */
const NAMED_ENTITIES: Map<string, string> = (() => {
  const table = new Map<string, string>();
  const byName = new Map<string, string>();
  for (const entry of NAMED_ENTITY_TABLE.trim().split(/\s+/)) {
    const [name, hex] = entry.split(":");
    byName.set(name, String.fromCodePoint(parseInt(hex, 16)));
    table.set(`${name};`, byName.get(name)!);
  }
  for (const name of LEGACY_ENTITY_NAMES.trim().split(/\s+/)) table.set(name, byName.get(name)!);
  return table;
})();

// Python's html._invalid_charrefs: NUL, CR and the Windows-1252 reading of 0x80..0x9F.
const INVALID_CHARREFS: Map<number, string> = new Map([
  [0x00, "\uFFFD"],
  [0x0d, "\r"],
  ...[
    ..."\u20AC\x81\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\x8D" +
      "\u017D\x8F\x90\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\x9D" +
      "\u017E\u0178",
  ].map((c, i): [number, string] => [0x80 + i, c]),
]);

/** Python's html._invalid_codepoints: references to these become nothing. */
function isInvalidCodepoint(cp: number): boolean {
  return (cp >= 0x1 && cp <= 0x8) || cp === 0xb || (cp >= 0xe && cp <= 0x1f) ||
    (cp >= 0x7f && cp <= 0x9f) || (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe;
}

const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/g;

function replaceCharref(_match: string, ref: string): string {
  if (ref[0] === "#") {
    const hex = ref[1] === "x" || ref[1] === "X";
    const digits = ref.slice(hex ? 2 : 1).replace(/;$/, "");
    // Past 0x10FFFF the exact value does not matter, so float rounding of long numbers is harmless.
    const cp = parseInt(digits, hex ? 16 : 10);
    const invalid = INVALID_CHARREFS.get(cp);
    if (invalid !== undefined) return invalid;
    if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return "\uFFFD";
    if (isInvalidCodepoint(cp)) return "";
    return String.fromCodePoint(cp);
  }
  const whole = NAMED_ENTITIES.get(ref);
  if (whole !== undefined) return whole;
  // The longest legacy name that prefixes the reference, as the HTML standard (and Python) does.
  for (let x = ref.length - 1; x > 1; x--) {
    const value = NAMED_ENTITIES.get(ref.slice(0, x));
    if (value !== undefined) return value + ref.slice(x);
  }
  return `&${ref}`;
}

/**
 * Replaces HTML character references as Python's `html.unescape` does: numeric ones (`&#39;`,
 * `&#x27;`, with its rules for invalid code points) and named ones (`&amp;`, `&nbsp;`, legacy forms
 * without `;` such as `&amp`). Unknown names are left as written.
 * @param text the text
 * @returns the text with references replaced
 */
export function htmlUnescape(text: string): string {
  return text.includes("&") ? text.replace(CHARREF, replaceCharref) : text;
}

/**
 * CLIP's text clean-up before splitting: NFC normalisation (the part of ftfy that matters for
 * ordinary text), HTML unescaped twice, whitespace runs to one space, trimmed, lower-cased.
 * @param text the raw text
 * @returns the text the tokenizer splits
 */
export function cleanText(text: string): string {
  const unescaped = htmlUnescape(htmlUnescape(text.normalize("NFC")));
  return unescaped.replace(PY_SPACE_RUN, " ").replace(PY_STRIP, "").toLowerCase();
}

/**
 * CLIP's BPE tokenizer over its 49,408-token vocabulary.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { ClipTokenizer } from "./clip_tokenizer.ts";
 * const tokenizer = await ClipTokenizer.load();
 * const ids = tokenizer.tokenize(["a photo of abseiling.", "a video of yoga."]);
 * strictEqual(ids.length, 2 * 77);
 * strictEqual(tokenizer.decode(tokenizer.encode("A  Photo")), "a photo ");
 * ```
 */
export class ClipTokenizer {
  readonly #encoder: Map<string, number>;
  readonly #decoder: string[];
  readonly #ranks: Map<string, number>;
  readonly #byteEncoder: string[];
  readonly #byteDecoder: Map<string, number>;
  readonly #cache = new Map<string, number[]>();

  private constructor(merges: string[]) {
    const table = bytesToUnicode();
    this.#byteEncoder = new Array(256);
    this.#byteDecoder = new Map();
    for (const [b, c] of table) {
      this.#byteEncoder[b] = c;
      this.#byteDecoder.set(c, b);
    }
    const symbols = table.map(([, c]) => c);
    const vocab = [
      ...symbols,
      ...symbols.map((c) => c + END_OF_WORD),
      ...merges.map((m) => m.replace(" ", "")),
      START_TOKEN,
      END_TOKEN,
    ];
    this.#decoder = vocab;
    this.#encoder = new Map(vocab.map((token, id) => [token, id]));
    this.#ranks = new Map(merges.map((m, rank) => [m, rank]));
    // The special tokens are never split, as CLIP's cache seeds them.
    this.#cache.set(START_TOKEN, [START_OF_TEXT]);
    this.#cache.set(END_TOKEN, [END_OF_TEXT]);
  }

  /**
   * Loads CLIP's vocabulary file (gzipped or plain text).
   * @param path the file; defaults to the shipped `data/bpe_simple_vocab_16e6.txt.gz`
   * @returns the tokenizer
   * @throws {FormatError} naming the file and line when it is not a CLIP merges file
   */
  static async load(path: string = defaultVocabPath): Promise<ClipTokenizer> {
    const bytes = await Deno.readFile(path);
    let raw: Uint8Array = bytes;
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
      try {
        raw = gunzipSync(bytes);
      } catch (e) {
        throw new FormatError(`${path}: not a readable gzip file (${(e as Error).message})`);
      }
    }
    return ClipTokenizer.parse(new TextDecoder().decode(raw), path);
  }

  /**
   * Builds the tokenizer from the text of CLIP's vocabulary file: line 0 is a header, lines
   * 1..48894 are merges `a b` in rank order, later lines are ignored (as CLIP does).
   * @param text the file's content, decompressed
   * @param source the file name used in error messages
   * @returns the tokenizer
   * @throws {FormatError} `<source>:<line>: ...` for a missing or malformed merge, or when the
   *   resulting vocabulary is not 49,408 distinct tokens
   */
  static parse(text: string, source = "<clip vocabulary>"): ClipTokenizer {
    const lines = text.split("\n", MERGE_COUNT + 1);
    if (lines.length < MERGE_COUNT + 1) {
      throw new FormatError(
        `${source}: has ${Math.max(lines.length - 1, 0)} merge lines, CLIP needs ${MERGE_COUNT}`,
      );
    }
    const merges = lines.slice(1);
    merges.forEach((merge, i) => {
      const parts = merge.split(" ");
      if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
        throw new FormatError(
          `${source}:${i + 2}: ${JSON.stringify(merge)} is not a merge "<left> <right>"`,
        );
      }
    });
    const tokenizer = new ClipTokenizer(merges);
    if (tokenizer.#encoder.size !== CLIP_VOCAB_SIZE) {
      throw new FormatError(
        `${source}: gives ${tokenizer.#encoder.size} distinct tokens, CLIP has ${CLIP_VOCAB_SIZE}`,
      );
    }
    return tokenizer;
  }

  /** Number of tokens (49,408). */
  get vocabSize(): number {
    return this.#decoder.length;
  }

  /**
   * BPE ids of a text, without the start and end tokens.
   * @param text any text; it is cleaned and lower-cased first (see {@linkcode cleanText})
   * @returns the ids
   */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const [piece] of cleanText(text).matchAll(CLIP_PATTERN)) {
      let pieceIds = this.#cache.get(piece);
      if (pieceIds === undefined) {
        pieceIds = this.#bpe(piece);
        this.#cache.set(piece, pieceIds);
      }
      for (const id of pieceIds) ids.push(id);
    }
    return ids;
  }

  /**
   * Tokenizes texts into CLIP text-encoder input: per text `<|startoftext|>`, its ids,
   * `<|endoftext|>`, then zeros, `contextLength` ids per row.
   * @param texts the texts
   * @param options context length (77) and truncation (off)
   * @returns int64 ids, row-major with shape `[texts.length, contextLength]`
   * @throws {TextTooLongError} for a text that does not fit, unless `truncate` is set
   */
  tokenize(texts: readonly string[], options: TokenizeOptions = {}): BigInt64Array {
    const { contextLength = CONTEXT_LENGTH, truncate = false } = options;
    if (!Number.isInteger(contextLength) || contextLength < 1) {
      throw new RangeError(`contextLength must be a positive integer, got ${contextLength}`);
    }
    const out = new BigInt64Array(texts.length * contextLength);
    texts.forEach((text, row) => {
      const ids = [START_OF_TEXT, ...this.encode(text), END_OF_TEXT];
      if (ids.length > contextLength) {
        if (!truncate) throw new TextTooLongError(row, text, ids.length, contextLength);
        ids.length = contextLength;
        ids[contextLength - 1] = END_OF_TEXT;
      }
      const base = row * contextLength;
      for (let i = 0; i < ids.length; i++) out[base + i] = BigInt(ids[i]);
    });
    return out;
  }

  /**
   * Text of ids, as CLIP's `decode`: tokens joined, bytes decoded as UTF-8 (invalid sequences
   * become U+FFFD), every end-of-word mark a space. Special tokens and padding (id 0, `!`) are
   * decoded like any other id, so strip them first.
   * @param ids token ids
   * @returns the text
   * @throws {RangeError} for an id outside the vocabulary
   */
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    for (const id of ids) {
      const token = this.#decoder[id];
      if (!Number.isInteger(id) || token === undefined) {
        throw new RangeError(`token id ${id} is not in the vocabulary (0..${this.vocabSize - 1})`);
      }
      for (const c of token) bytes.push(this.#byteDecoder.get(c)!);
    }
    // Every vocabulary character is a byte symbol ("</w>" is made of printable ASCII ones).
    return new TextDecoder().decode(new Uint8Array(bytes)).replaceAll(END_OF_WORD, " ");
  }

  /** Merges one split piece by rank and returns its ids. */
  #bpe(piece: string): number[] {
    let word: string[] = [];
    for (const b of new TextEncoder().encode(piece)) word.push(this.#byteEncoder[b]);
    word[word.length - 1] += END_OF_WORD;
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const rank = this.#ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      const first = word[best];
      const second = word[best + 1];
      // Merge every occurrence of the pair, left to right, as CLIP does.
      const merged: string[] = [];
      for (let i = 0; i < word.length;) {
        if (i < word.length - 1 && word[i] === first && word[i + 1] === second) {
          merged.push(first + second);
          i += 2;
        } else {
          merged.push(word[i]);
          i++;
        }
      }
      word = merged;
    }
    return word.map((token) => this.#encoder.get(token)!);
  }
}
