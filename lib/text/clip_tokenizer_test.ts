import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { join } from "node:path";
import {
  cleanText,
  CLIP_VOCAB_SIZE,
  ClipTokenizer,
  CONTEXT_LENGTH,
  END_OF_TEXT,
  htmlUnescape,
  START_OF_TEXT,
  TextTooLongError,
} from "./clip_tokenizer.ts";
import { FormatError } from "../base/mod.ts";
import {
  defaultVocabPath,
  fillTemplate,
  loadClassNames,
  loadPromptTemplates,
} from "../dataset/mod.ts";

const tokenizer = await ClipTokenizer.load();

/** Asserts that `fn` throws an instance of `type` whose message includes `text`; returns it. */
function assertThrows<E extends Error>(
  fn: () => unknown,
  type: abstract new (...args: never[]) => E,
  text = "",
): E {
  try {
    fn();
  } catch (e) {
    assert(e instanceof type, `expected ${type.name}, got ${e}`);
    assert(e.message.includes(text), `"${e.message}" lacks "${text}"`);
    return e;
  }
  throw new Error(`expected ${type.name}, nothing was thrown`);
}

/** The row `row` of a tokenize() result as numbers. */
function rowOf(ids: BigInt64Array, row: number, contextLength = CONTEXT_LENGTH): number[] {
  return Array.from(ids.subarray(row * contextLength, (row + 1) * contextLength), Number);
}

/** Ids of one row up to and including its end token. */
function usedIds(row: number[]): number[] {
  return row.slice(0, row.indexOf(END_OF_TEXT) + 1);
}

// A stdlib-only port of CLIP's simple_tokenizer.py with ftfy replaced by NFC, so the texts given to
// it are ones ftfy leaves alone (clip_text_clean_test.ts checks those it changes against ids made
// with open_clip and ftfy). `regex`'s \p{L} / \p{N} are rebuilt from unicodedata categories, so
// the check holds beyond ASCII for characters both Unicode versions know.
const PYTHON_PORT = String.raw`
import gzip, html, json, re, sys, unicodedata

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2 ** 8):
        if b not in bs:
            bs.append(b)
            cs.append(2 ** 8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))

def get_pairs(word):
    return set(zip(word[:-1], word[1:]))

def char_class(prefix):
    ranges, start, prev = [], None, None
    for cp in range(0x110000):
        if unicodedata.category(chr(cp)).startswith(prefix):
            if start is None:
                start = cp
            elif cp != prev + 1:
                ranges.append((start, prev))
                start = cp
            prev = cp
    ranges.append((start, prev))
    return "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in ranges)

L, N = char_class("L"), char_class("N")

class SimpleTokenizer:
    def __init__(self, bpe_path):
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {v: k for k, v in self.byte_encoder.items()}
        merges = gzip.open(bpe_path).read().decode("utf-8").split("\n")
        merges = merges[1:49152 - 256 - 2 + 1]
        merges = [tuple(merge.split()) for merge in merges]
        vocab = list(bytes_to_unicode().values())
        vocab = vocab + [v + "</w>" for v in vocab]
        for merge in merges:
            vocab.append("".join(merge))
        vocab.extend(["<|startoftext|>", "<|endoftext|>"])
        self.encoder = dict(zip(vocab, range(len(vocab))))
        self.decoder = {v: k for k, v in self.encoder.items()}
        self.bpe_ranks = dict(zip(merges, range(len(merges))))
        self.cache = {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}
        self.pat = re.compile(
            r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[" + L + r"]+|[" + N + r"]|[^\s" + L + N + r"]+",
            re.IGNORECASE)

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        pairs = get_pairs(word)
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                    new_word.extend(word[i:j])
                    i = j
                except ValueError:
                    new_word.extend(word[i:])
                    break
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        word = " ".join(word)
        self.cache[token] = word
        return word

    def encode(self, text):
        text = unicodedata.normalize("NFC", text)
        text = html.unescape(html.unescape(text)).strip()
        text = re.sub(r"\s+", " ", text).strip().lower()
        bpe_tokens = []
        for token in re.findall(self.pat, text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            bpe_tokens.extend(self.encoder[t] for t in self.bpe(token).split(" "))
        return bpe_tokens

    def decode(self, tokens):
        text = "".join(self.decoder[t] for t in tokens)
        return bytearray(self.byte_decoder[c] for c in text).decode("utf-8", errors="replace").replace("</w>", " ")

tok = SimpleTokenizer(sys.argv[1])
texts = json.load(sys.stdin)
out = []
for t in texts:
    ids = tok.encode(t)
    out.append({"ids": ids, "decoded": tok.decode(ids), "unescaped": html.unescape(t)})
json.dump(out, sys.stdout)
`;

interface PythonResult {
  ids: number[];
  decoded: string;
  unescaped: string;
}

/** Runs the Python port over `texts` and returns its ids, decodings and html.unescape results. */
async function pythonEncode(texts: string[]): Promise<PythonResult[]> {
  const dir = await Deno.makeTempDir({ prefix: "clip_tokenizer_test_" });
  try {
    const script = join(dir, "simple_tokenizer.py");
    await Deno.writeTextFile(script, PYTHON_PORT);
    const child = new Deno.Command("/usr/bin/python3", {
      args: [script, defaultVocabPath],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify(texts)));
    await writer.close();
    const { code, stdout, stderr } = await child.output();
    assertEquals(code, 0, new TextDecoder().decode(stderr));
    return JSON.parse(new TextDecoder().decode(stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const UNICODE_TEXTS = [
  "café",
  "cafe\u0301 au lait",
  "naïve Ünïcödé façade",
  "ÉCOLE Straße İstanbul",
  "東京タワー and 北京",
  "Ελληνικά ΟΔΟΣ русский язык",
  "emoji 😀👍🏽 and 🇯🇵 flags",
  "½ ² 12345 ٣٤ 3.14",
  "don't I'LL we'Re they've I'm he'd it's",
  "<|startoftext|>hi<|endoftext|>",
  "tabs\tand\nnewlines\r\n  and\u00a0nbsp\u2028\u2003em space",
  "   padded   ",
  "!!!??? ... -- __init__ a_b",
  "supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis",
  "",
];

const ENTITY_TEXTS = [
  "Tom &amp; Jerry",
  "&amp;amp; twice",
  "&lt;b&gt;bold&lt;/b&gt;",
  "&quot;quoted&quot; &#39;single&#39; &apos;apos&apos;",
  "a&nbsp;b &#160;c",
  "&#x1F600; &#128512; &#X41;&#65;",
  "&#0; &#x80; &#x9F; &#1; &#13; &#xD800; &#99999999999; &#xFFFE;",
  "&ampfoo &notit; &copy 2021 &unknown; &AMP; &lang;x&rang;",
  "& alone &; &#; &#x;",
  "caf&eacute; na&iuml;ve &Eacute;T&Eacute;",
  "&amp;lt; &amp;#39;",
];

Deno.test("known ids: the examples CLIP's own tests and README use", () => {
  const ids = tokenizer.tokenize(["a diagram", "A surfer is riding a wave"]);
  assertEquals(ids.length, 2 * CONTEXT_LENGTH);
  assertEquals(usedIds(rowOf(ids, 0)), [49406, 320, 22697, 49407]);
  assertEquals(usedIds(rowOf(ids, 1)), [49406, 320, 24925, 533, 6765, 320, 4535, 49407]);
  assertEquals(tokenizer.encode("a diagram"), [320, 22697]);
});

Deno.test("vocabulary: 49,408 tokens, special ids, tokens decode to themselves", () => {
  assertEquals(tokenizer.vocabSize, CLIP_VOCAB_SIZE);
  assertEquals(tokenizer.vocabSize, 49408);
  assertEquals(tokenizer.encode("<|startoftext|>"), [START_OF_TEXT]);
  assertEquals(tokenizer.encode("<|endoftext|>"), [END_OF_TEXT]);
  assertEquals(tokenizer.decode([START_OF_TEXT, END_OF_TEXT]), "<|startoftext|><|endoftext|>");
  assertEquals(tokenizer.decode([0]), "!"); // padding id 0 is the byte symbol "!"
  assertThrows(() => tokenizer.decode([49408]), RangeError, "not in the vocabulary");
  assertThrows(() => tokenizer.decode([-1]), RangeError);
});

Deno.test("tokenize pads every row with zeros to the context length", () => {
  const ids = tokenizer.tokenize(["a", "", "a video of a person doing yoga."]);
  assertEquals(ids.length, 3 * 77);
  assertEquals(rowOf(ids, 0).slice(0, 4), [49406, 320, 49407, 0]);
  assertEquals(rowOf(ids, 1), [49406, 49407, ...new Array(75).fill(0)]);
  const row = rowOf(ids, 2);
  const used = usedIds(row);
  assertEquals(used.length, 2 + tokenizer.encode("a video of a person doing yoga.").length);
  assert(row.slice(used.length).every((id) => id === 0));
  assertEquals(tokenizer.tokenize([]).length, 0);
  const short = tokenizer.tokenize(["a diagram"], { contextLength: 6 });
  assertEquals(Array.from(short, Number), [49406, 320, 22697, 49407, 0, 0]);
});

Deno.test("too long: a clear error, or truncation ending with the end token", () => {
  const long = Array.from({ length: 100 }, (_, i) => `word${i % 10}`).join(" ");
  const needed = tokenizer.encode(long).length + 2;
  assert(needed > 77);
  const err = assertThrows(
    () => tokenizer.tokenize(["fine", long]),
    TextTooLongError,
    "context length 77",
  );
  assertEquals(err.index, 1);
  assertEquals(err.tokenCount, needed);
  assert(err.message.includes("truncate: true"));

  const cut = rowOf(tokenizer.tokenize(["fine", long], { truncate: true }), 1);
  const full = [START_OF_TEXT, ...tokenizer.encode(long), END_OF_TEXT];
  assertEquals(cut.slice(0, 76), full.slice(0, 76));
  assertEquals(cut[76], END_OF_TEXT);

  // Exactly 77 ids fit without truncation; 78 do not.
  const fits = Array.from({ length: 75 }, () => "a").join(" ");
  assertEquals(usedIds(rowOf(tokenizer.tokenize([fits]), 0)).length, 77);
  assertThrows(() => tokenizer.tokenize([`${fits} a`]), TextTooLongError);
  assertThrows(() => tokenizer.tokenize(["a"], { contextLength: 0 }), RangeError);
});

Deno.test("all 700 class names x 28 templates tokenize within 77 tokens", async () => {
  const classes = await loadClassNames();
  const templates = await loadPromptTemplates();
  assertEquals(classes.length, 700);
  assertEquals(templates.length, 28);
  const prompts = templates.flatMap((t) => classes.map((c) => fillTemplate(t, c)));
  assertEquals(prompts.length, 19600);
  const ids = tokenizer.tokenize(prompts);
  let longest = 0;
  for (let row = 0; row < prompts.length; row++) {
    const used = usedIds(rowOf(ids, row));
    assertEquals(used[0], START_OF_TEXT);
    assert(used.length >= 4 && used.length <= 77, prompts[row]);
    longest = Math.max(longest, used.length);
  }
  assert(longest < 40, `longest prompt is ${longest} tokens`);
});

Deno.test("decode(encode(x)) gives back the cleaned, lower-cased text", () => {
  assertEquals(
    tokenizer.decode(tokenizer.encode("A  Surfer\n is  RIDING a wave")),
    "a surfer is riding a wave ",
  );
  const texts = [
    "a video of a person doing Throwing Ball (not baseball or American football).",
    "  Massaging   person's head\t",
    ...UNICODE_TEXTS.filter((t) => !t.includes("<|")),
  ];
  for (const text of texts) {
    const decoded = tokenizer.decode(tokenizer.encode(text));
    // Decoding puts a space after each word's end, so compare without spaces.
    assertEquals(decoded.replace(/ /g, ""), cleanText(text).replace(/ /g, ""), text);
    assertEquals(decoded.trim().split(/ +/).join(""), cleanText(text).split(" ").join(""));
  }
});

Deno.test("HTML entities and non-ASCII letters", () => {
  assertEquals(
    htmlUnescape("Tom &amp; Jerry &lt;3 &gt; &quot;x&quot; &#39;y&apos;"),
    `Tom & Jerry <3 > "x" 'y'`,
  );
  assertEquals(htmlUnescape("a&nbsp;b&#x41;&#66;"), "a\u00a0bAB");
  assertEquals(htmlUnescape("&unknownentity; &"), "&unknownentity; &");
  assertEquals(cleanText("&amp;amp;"), "&"); // unescaped twice, as CLIP does
  assertEquals(cleanText("a&nbsp;&nbsp;b"), "a b"); // nbsp is whitespace to the clean-up
  assertEquals(tokenizer.encode("Tom &amp; Jerry"), tokenizer.encode("tom & jerry"));
  assertEquals(tokenizer.encode("caf&eacute;"), tokenizer.encode("café"));
  assertEquals(tokenizer.encode("cafe\u0301"), tokenizer.encode("café")); // NFC first
  assertEquals(tokenizer.decode(tokenizer.encode("Café")), "café ");
  assertEquals(tokenizer.decode(tokenizer.encode("NAÏVE")), "naïve ");
  // "naïve" is one letter run: "ï" stays inside the word instead of splitting it as punctuation.
  assertEquals(tokenizer.decode(tokenizer.encode("naïve")), "naïve ");
  assertEquals(tokenizer.decode(tokenizer.encode("naïve!")), "naïve ! ");
  assertEquals(tokenizer.decode(tokenizer.encode("東京 😀")), "東京 😀 ");
});

Deno.test("matches a stdlib Python port of simple_tokenizer.py on all prompts and edge cases", async () => {
  const classes = await loadClassNames();
  const templates = await loadPromptTemplates();
  const prompts = templates.flatMap((t) => classes.map((c) => fillTemplate(t, c)));
  const texts = [...prompts, ...UNICODE_TEXTS, ...ENTITY_TEXTS];
  const expected = await pythonEncode(texts);
  assertEquals(expected.length, texts.length);
  let mismatches = 0;
  texts.forEach((text, i) => {
    const ids = tokenizer.encode(text);
    const same = ids.length === expected[i].ids.length &&
      ids.every((id, k) => id === expected[i].ids[k]);
    if (!same) {
      mismatches++;
      if (mismatches <= 5) {
        console.error(`${JSON.stringify(text)}: ${ids} vs Python ${expected[i].ids}`);
      }
    }
    if (same) assertEquals(tokenizer.decode(ids), expected[i].decoded, text);
    if (i >= prompts.length + UNICODE_TEXTS.length) {
      assertEquals(htmlUnescape(text), expected[i].unescaped, text);
    }
  });
  assertEquals(mismatches, 0);
});

Deno.test("malformed vocabulary files are refused naming the file and line", async () => {
  assertThrows(
    () => ClipTokenizer.parse("#version: 0.2\ni n\nt h\n", "tiny.txt"),
    FormatError,
    "tiny.txt: has 3 merge lines, CLIP needs 48894",
  );
  const text = new TextDecoder().decode(
    (await import("node:zlib")).gunzipSync(await Deno.readFile(defaultVocabPath)),
  );
  const lines = text.split("\n");
  lines[10] = "broken";
  assertThrows(() => ClipTokenizer.parse(lines.join("\n"), "bad.txt"), FormatError, "bad.txt:11:");
  // Plain (not gzipped) files load too.
  const dir = await Deno.makeTempDir({ prefix: "clip_vocab_" });
  try {
    const plain = join(dir, "vocab.txt");
    await Deno.writeTextFile(plain, text);
    const fromPlain = await ClipTokenizer.load(plain);
    assertEquals(fromPlain.encode("a diagram"), [320, 22697]);
    const notGzip = join(dir, "broken.gz");
    await Deno.writeFile(notGzip, new Uint8Array([0x1f, 0x8b, 1, 2, 3]));
    await rejects(ClipTokenizer.load(notGzip), FormatError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
