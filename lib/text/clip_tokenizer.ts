/**
 * CLIP's byte-level BPE text tokenizer, a port of OpenAI CLIP's `clip/simple_tokenizer.py`
 * (MIT License, Copyright (c) 2021 OpenAI; see `data/README.md`) and of `clip.tokenize`.
 *
 * Text is cleaned as open_clip does ({@linkcode cleanText}: ftfy's fixes, HTML unescaped twice,
 * whitespace runs collapsed to one space, trimmed, lower-cased; `clip_text_clean.ts` lists where
 * it differs from ftfy), split with CLIP's Unicode pattern, each piece's UTF-8 bytes mapped to
 * printable symbols and merged by rank. The special tokens are spelled as OpenAI CLIP spells them,
 * `<|startoftext|>` and `<|endoftext|>` (open_clip: `<start_of_text>`, `<end_of_text>`; same ids).
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
import { FormatError } from "../base/mod.ts";
import { defaultVocabPath } from "../dataset/mod.ts";
import { cleanText } from "./clip_text_clean.ts";

export { cleanText, fixText, htmlUnescape } from "./clip_text_clean.ts";

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
   * Cut texts that do not fit as `open_clip.tokenize` and `clip.tokenize(truncate=True)` do: the
   * first `contextLength` ids kept, the last one replaced by `<|endoftext|>`; default false, where
   * such a text throws {@linkcode TextTooLongError}.
   */
  truncate?: boolean;
  /** Called for each text that `truncate` cut, so that the caller can warn about it. */
  onTruncate?: (cut: TruncatedText) => void;
}

/** A text that {@linkcode ClipTokenizer.tokenize} cut to the context length. */
export interface TruncatedText {
  /** Position of the text in the batch. */
  index: number;
  /** The text as given. */
  text: string;
  /** Ids it needed, start and end tokens included. */
  tokenCount: number;
  /** Ids it was cut to. */
  contextLength: number;
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

// CLIP's split pattern (Python `regex`, IGNORECASE); `regex`'s `\s` is Unicode White_Space.
const CLIP_PATTERN =
  /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\p{White_Space}\p{L}\p{N}]+/giu;

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
   * @param options context length (77), truncation (off) and who hears of a cut
   * @returns int64 ids, row-major with shape `[texts.length, contextLength]`
   * @throws {TextTooLongError} for a text that does not fit, unless `truncate` is set
   */
  tokenize(texts: readonly string[], options: TokenizeOptions = {}): BigInt64Array {
    const { contextLength = CONTEXT_LENGTH, truncate = false, onTruncate } = options;
    if (!Number.isInteger(contextLength) || contextLength < 1) {
      throw new RangeError(`contextLength must be a positive integer, got ${contextLength}`);
    }
    const out = new BigInt64Array(texts.length * contextLength);
    texts.forEach((text, row) => {
      const ids = [START_OF_TEXT, ...this.encode(text), END_OF_TEXT];
      if (ids.length > contextLength) {
        if (!truncate) throw new TextTooLongError(row, text, ids.length, contextLength);
        onTruncate?.({ index: row, text, tokenCount: ids.length, contextLength });
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
