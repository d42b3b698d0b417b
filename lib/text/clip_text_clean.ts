/**
 * CLIP's text clean-up, as open_clip's `SimpleTokenizer` runs it before splitting (its default
 * `clean="lower"`): `ftfy.fix_text` with ftfy's default configuration, Python's `html.unescape`
 * twice, whitespace runs to one space, trimmed, lower-cased.
 *
 * {@linkcode fixText} follows `fix_text` of ftfy 6.1 to 6.3 step by step: the text is fixed line
 * by line; per line, until nothing changes: HTML entities ending in `;` unescaped (all-caps Latin
 * ones too, and not at all from the first line holding a `<` on), mojibake repaired, C1 controls
 * read as Windows-1252, Latin ligatures split, fullwidth and halfwidth forms to standard width,
 * curly quotes straightened, line breaks to `\n`, lone surrogates to U+FFFD, terminal escapes and
 * invisible control characters removed, NFC normalisation. Where it differs from ftfy:
 * - mojibake is repaired as ftfy repairs UTF-8 read as Latin-1 or Windows-1252: a line decoded
 *   whole (with ftfy's restoring of A0 bytes turned into spaces and of lost bytes), else each run
 *   of mojibake in it, but only where a sure sign of it is seen: a C1 control, or a pair of
 *   characters that ftfy's badness heuristic flags on its own. Text that only the heuristic's
 *   longer patterns flag, and mojibake of the other code pages ftfy reads (Windows-1250/1251/1253/
 *   1254/1257, ISO-8859-2, MacRoman, CP437) or of CESU-8, is left as written;
 * - HTML entities are the HTML 4 names plus `&apos;` (see {@linkcode htmlUnescape}), not the
 *   rarer HTML5-only ones;
 * - NFC uses the JavaScript engine's Unicode version, which may be newer than Python's.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { cleanText } from "./clip_text_clean.ts";
 * strictEqual(cleanText("It\u2019s  \uFB01ne &amp;amp;amp; ＡＢＣ"), "it's fine & abc");
 * strictEqual(cleanText("don\u00E2\u20AC\u2122t"), "don't"); // mojibake of "don’t"
 * ```
 * @module
 */

// Python's str.isspace() set, used by CLIP's `re.sub(r"\s+", " ")` and `str.strip()`; JavaScript's
// `\s` and `trim()` differ (they take U+FEFF, leave U+001C..U+001F and U+0085).
const PY_SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f" +
  "\\u205f\\u3000";
const PY_SPACE_RUN = new RegExp(`[${PY_SPACE}]+`, "gu");
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "gu");

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

/** ftfy's entities: every `&name;` of the table, plus all-caps forms of lower-case names. */
const FTFY_ENTITIES: Map<string, string> = (() => {
  const table = new Map<string, string>();
  for (const [name, value] of NAMED_ENTITIES) {
    if (!name.endsWith(";")) continue;
    table.set(`&${name}`, value);
  }
  for (const [name, value] of NAMED_ENTITIES) {
    if (!name.endsWith(";") || name !== name.toLowerCase()) continue;
    const upper = `&${name.toUpperCase()}`;
    // Only where Python's html.unescape leaves the all-caps form alone (`&AMP;` is its own entity).
    if (htmlUnescape(upper) === upper) table.set(upper, value.toUpperCase());
  }
  return table;
})();

const FTFY_ENTITY = /&#?[0-9A-Za-z]{1,24};/g;

/** ftfy's `unescape_html`: only references ending in `;`, numeric ones only when they decode. */
function unescapeEntities(text: string): string {
  return text.replace(FTFY_ENTITY, (ref) => {
    const named = FTFY_ENTITIES.get(ref);
    if (named !== undefined) return named;
    if (!ref.startsWith("&#")) return ref;
    const decoded = htmlUnescape(ref);
    return decoded.includes(";") ? ref : decoded;
  });
}

// Windows-1252 for bytes 0x80..0x9F, the five unassigned ones passing through as C1 controls
// (ftfy's "sloppy" codec); the same table html.unescape uses for `&#x80;`..`&#x9F;`.
const CP1252_C1 = Array.from({ length: 32 }, (_, i) => INVALID_CHARREFS.get(0x80 + i)!);
const CP1252_BYTE: Map<string, number> = new Map(CP1252_C1.map((c, i) => [c, 0x80 + i]));

/** Text as Latin-1 bytes, held as a string of char codes 0..255; undefined when it does not fit. */
function encodeLatin1(text: string): string | undefined {
  return /^[\0-\xff]*$/.test(text) ? text : undefined;
}

/** Text as sloppy Windows-1252 bytes (U+FFFD as byte 1A, as ftfy's codec); undefined if not. */
function encodeCp1252(text: string): string | undefined {
  let bytes = "";
  for (const c of text) {
    const code = c.charCodeAt(0);
    if (code < 0x80 || (code >= 0xa0 && code <= 0xff)) bytes += c;
    else if (c === "\uFFFD") bytes += "\x1a";
    else {
      const b = CP1252_BYTE.get(c);
      if (b === undefined) return undefined;
      bytes += String.fromCharCode(b);
    }
  }
  return bytes;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Strict UTF-8 decoding of a byte string; undefined when it is not UTF-8. */
function decodeUtf8(bytes: string): string | undefined {
  const array = Uint8Array.from(bytes, (c) => c.charCodeAt(0));
  try {
    return UTF8.decode(array);
  } catch {
    return undefined;
  }
}

// ftfy's ALTERED_UTF8_RE and A_GRAVE_WORD_RE: UTF-8 whose A0 byte became a space.
const ALTERED_UTF8 =
  /[\xc2\xc3\xc5\xce\xd0\xd9] |[\xe2\xe3] [\x80-\x84\x86-\x9f\xa1-\xbf]|[\xe0-\xe3][\x80-\x84\x86-\x9f\xa1-\xbf] |\xf0 [\x80-\xbf][\x80-\xbf]|\xf0[\x80-\xbf] [\x80-\xbf]|\xf0[\x80-\xbf][\x80-\xbf] /g;
const ALTERED_UTF8_FOUND = new RegExp(ALTERED_UTF8.source);
const A_GRAVE_WORD = /\xc3 (?! |quele|quela|quilo|s )/g;
// ftfy's LOSSY_UTF8_RE: UTF-8 sequences with a byte lost to U+FFFD (byte 1A) or `?`.
const LOSSY_UTF8 = new RegExp(
  "[\\xc2-\\xdf]\\x1a|[\\xc2-\\xc3][?]" +
    "|\\xed[\\xa0-\\xaf][\\x1a?]\\xed[\\xb0-\\xbf][\\x1a?\\x80-\\xbf]" +
    "|\\xed[\\xa0-\\xaf][\\x1a?\\x80-\\xbf]\\xed[\\xb0-\\xbf][\\x1a?]" +
    "|[\\xe0-\\xef][\\x1a?][\\x1a\\x80-\\xbf]|[\\xe0-\\xef][\\x1a\\x80-\\xbf][\\x1a?]" +
    "|[\\xf0-\\xf4][\\x1a?][\\x1a\\x80-\\xbf][\\x1a\\x80-\\xbf]" +
    "|[\\xf0-\\xf4][\\x1a\\x80-\\xbf][\\x1a?][\\x1a\\x80-\\xbf]" +
    "|[\\xf0-\\xf4][\\x1a\\x80-\\xbf][\\x1a\\x80-\\xbf][\\x1a?]|\\x1a",
  "g",
);

// Windows-1252 characters of bytes 0x80..0x9F, for character classes.
const CP1252_HIGH = "\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152" +
  "\u017d\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u017e\u0178";

// Pairs of Latin-1/Windows-1252 characters (and U+FFFD) that ftfy's badness test (BADNESS_RE) flags on their
// own, as [first, second] character classes; found by running the test of ftfy 6.1.1 and of 6.3.1
// over every such pair and keeping those both flag.
const FLAGGED_PAIRS: [string, string][] = [
  [
    "\\xa1\\xa7\\xa9\\xab\\xb6\\xbf\u2018\u201a\u201c\u201e\u2022\u2039",
    "\\xa4\\xa6\\xa8\\xaa\\xac\\xaf\\xb8\\xba\u0192\u02c6\u02dc\u2020\u2021\u2030\ufffd",
  ],
  [
    "\\xa2\\xa3\\xa5\\xb1-\\xb3\\xb5\\xb9\\xbc-\\xbe\\xf7\u20ac",
    "\\xa1\\xa4\\xa6\\xa8-\\xac\\xaf\\xb8\\xba\\xbf-\\xd1\\xd8\\xdc\\xdd\\xdf-\\xf1\\xfc" +
    "\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2018\u201a\u201c\u201e" +
    "\u2020-\u2022\u2030\u2039\ufffd",
  ],
  [
    "\\xa4\\xa6\\xa8\\xaa\\xac\\xaf\\xb8\\xba\u0192\u02c6\u02dc\u2020\u2021\u2030\ufffd",
    "\\xa1-\\xac\\xae\\xaf\\xb1-\\xb3\\xb5\\xb6\\xb8-\\xd1\\xd7\\xd8\\xdc\\xdd\\xdf-\\xf1" +
    "\\xf7\\xfc\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2018\u201a" +
    "\u201c-\u201e\u2020-\u2022\u2030\u2039\u203a\u20ac\u2122\ufffd",
  ],
  [
    "\\xae\\xbb\u201d\u203a\u2122",
    "\\xa2-\\xa6\\xa8\\xaa\\xac\\xaf\\xb8\\xba\\xc0-\\xd1\\xd8\\xdc\\xdd\\xdf-\\xf1\\xfc" +
    "\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2020\u2021\u2030\u20ac" +
    "\ufffd",
  ],
  [
    "\\xc0\\xc1\\xc4-\\xcd\\xcf\\xd1\\xd8\\xdc\\xdd\u0160\u0178\u017d",
    "\\xa4\\xa6-\\xa8\\xaa\\xac\\xaf\\xb1-\\xb3\\xb5\\xb6\\xb8-\\xba\\xbc-\\xbe\\xd7\\xf7" +
    "\u0192\u02c6\u02dc\u2020\u2021\u2030\ufffd",
  ],
  [
    "\\xc2\\xc3\\xce\\xd0",
    "\\xa0-\\xa4\\xa6-\\xbf\\xd7\\xf7\u0160\u0161\u0178\u017e\u0192\u02c6\u02dc" +
    "\u2013\u2014\u2018\u201a\u201c-\u201e\u2020-\u2022\u2030\u2039\u203a\u20ac\u2122" +
    "\ufffd",
  ],
  [
    "\\xd7",
    "\\xa1\\xa4\\xa6\\xa8-\\xac\\xaf\\xb2\\xb3\\xb8\\xba\\xbf-\\xd1\\xd8\\xdc\\xdd" +
    "\\xdf-\\xf1\\xfc\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2018" +
    "\u201a\u201c\u201e\u2020-\u2022\u2030\u2039\ufffd",
  ],
  [
    "\\xdf\\xe1-\\xf1\\xfc\u0161\u017e",
    "\\xa2-\\xa6\\xa8\\xaa\\xac\\xaf\\xb8\\xba\\xc0-\\xd1\\xd8\\xdc\\xdd\u0152\u0160" +
    "\u0178\u017d\u0192\u02c6\u02dc\u2020\u2021\u2030\u20ac\ufffd",
  ],
  [
    "\\xe0",
    "\\xa2-\\xa6\\xa8\\xaa\\xac\\xaf\\xb2\\xb5\\xb8-\\xba\\xbc-\\xbe\\xc0-\\xd1\\xd8" +
    "\\xdc\\xdd\u0152\u0160\u0178\u017d\u0192\u02c6\u02dc\u2020\u2021\u2030\u20ac\ufffd",
  ],
  [
    "\u0152\u0153",
    "\\xa0-\\xff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014" +
    "\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122\ufffd",
  ],
];

// Sure signs of UTF-8 read as Windows-1252 or Latin-1, all matched by ftfy's badness test too, so
// a line flagged here is one that ftfy also tries to fix: a C1 control, a flagged pair, `œ` before
// a non-letter, or Â or Ã and a space (an A0 byte lost) at the start or after a letter.
const MOJIBAKE_SIGN = new RegExp(
  "[\\x80-\\x9f]|[\u0152\u0153][^A-Za-z]|^[\\xc2\\xc3] |[a-z] ?[\\xc2\\xc3] " +
    FLAGGED_PAIRS.map(([first, second]) => `|[${first}][${second}]`).join(""),
);

// Characters that continue a UTF-8 sequence in the other code pages ftfy reads (Windows-1250,
// 1251, 1253, 1257...): a run that holds one is not Latin-1 or Windows-1252 mojibake, but it still
// bounds runs as it does in ftfy.
const OTHER_CONTINUATION = "\u0104\u00c6\u013d\u0141\u00d8\u0156\u015a\u015e\u0164\u0179\u017b" +
  "\u0105\u00e6\u013e\u0142\u00f8\u0157\u015b\u015f\u0165\u017a\u017c\u02c7\u02d8\u02db\u02dd" +
  "\u0384-\u0386\u0388-\u038a\u038c\u038e\u038f\u0401-\u040c\u040e\u040f\u0451-\u045c" +
  "\u045e\u045f\u0490\u0491\u2116";
// A continuation byte in a run, or a space that may stand for a lost A0 byte.
const RUN_BYTE = `[ \\x80-\\xbf${CP1252_HIGH}${OTHER_CONTINUATION}\u2015]`;
// ftfy's UTF8_DETECTOR_RE: runs of UTF-8 sequences, not preceded by a character that continues
// one (common punctuation such as ’ or – aside).
const EMBEDDED_MOJIBAKE = new RegExp(
  "(?<![\\x80-\\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2020" +
    `\u2021\u2030\u2039\u203a\u20ac\u2122${OTHER_CONTINUATION}])` +
    `(?:[\\xc2-\\xdf]${RUN_BYTE}|[\\xe0-\\xef]${RUN_BYTE}{2}|\u00f0${RUN_BYTE}{3})+`,
  "g",
);

/** Decodes the whole text as UTF-8 read as Latin-1, else as Windows-1252; undefined if neither. */
function decodeMojibake(text: string): string | undefined {
  for (const sloppy of [false, true]) {
    let bytes = sloppy ? encodeCp1252(text) : encodeLatin1(text);
    if (bytes === undefined) continue;
    if (ALTERED_UTF8_FOUND.test(bytes)) {
      bytes = bytes.replace(A_GRAVE_WORD, "\xc3\xa0 ")
        .replace(ALTERED_UTF8, (m) => m.replaceAll(" ", "\xa0"));
    }
    if (sloppy) bytes = bytes.replace(LOSSY_UTF8, "\xef\xbf\xbd");
    const decoded = decodeUtf8(bytes);
    if (decoded !== undefined) return decoded;
  }
  return undefined;
}

/** One step of ftfy's `fix_encoding`, for the Latin-1 and Windows-1252 cases it covers. */
function fixEncodingStep(text: string): string {
  if (/^[\0-\x7f]*$/.test(text) || !MOJIBAKE_SIGN.test(text)) return text;
  const decoded = decodeMojibake(text);
  if (decoded !== undefined) return decoded;
  // Mojibake inside text that does not decode as a whole: each run on its own.
  const embedded = text.replace(
    EMBEDDED_MOJIBAKE,
    (run) => run.length < text.length && MOJIBAKE_SIGN.test(run) ? fixEncoding(run) : run,
  );
  if (embedded !== text) return embedded;
  return fixC1Controls(text);
}

/** ftfy's `fix_encoding`: steps until the text stops changing. */
function fixEncoding(text: string): string {
  for (;;) {
    const fixed = fixEncodingStep(text);
    if (fixed === text) return text;
    text = fixed;
  }
}

const C1_CONTROL = /[\x80-\x9f]/g;

/** C1 controls read as the Windows-1252 characters they were meant to be. */
function fixC1Controls(text: string): string {
  return text.replace(C1_CONTROL, (c) => CP1252_C1[c.charCodeAt(0) - 0x80]);
}

const LIGATURES: Record<string, string> = {
  "\u0132": "IJ",
  "\u0133": "ij",
  "\u0149": "\u02bcn",
  "\u01f1": "DZ",
  "\u01f2": "Dz",
  "\u01f3": "dz",
  "\u01c4": "D\u017d",
  "\u01c5": "D\u017e",
  "\u01c6": "d\u017e",
  "\u01c7": "LJ",
  "\u01c8": "Lj",
  "\u01c9": "lj",
  "\u01ca": "NJ",
  "\u01cb": "Nj",
  "\u01cc": "nj",
  "\ufb00": "ff",
  "\ufb01": "fi",
  "\ufb02": "fl",
  "\ufb03": "ffi",
  "\ufb04": "ffl",
  "\ufb05": "\u017ft",
  "\ufb06": "st",
};
const LIGATURE = new RegExp(`[${Object.keys(LIGATURES).join("")}]`, "g");
// Halfwidth and fullwidth forms; each becomes its NFKC form, the ideographic space a space.
const WIDE_OR_NARROW = /[\u3000\uff01-\uffef]/g;
const SINGLE_QUOTE = /[\u02bc\u2018-\u201b]/g;
const DOUBLE_QUOTE = /[\u201c-\u201f]/g;
const LINE_BREAK = /\r\n|[\r\u2028\u2029\x85]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// Python's `\d` in ftfy's ANSI_RE is any decimal digit; ESC is the point of the pattern.
// deno-lint-ignore no-control-regex
const TERMINAL_ESCAPE = /\x1b\[(?:\p{Nd}|;)*[a-zA-Z]/gu;
// Control characters are what this pattern removes.
// deno-lint-ignore no-control-regex
const CONTROL_CHARS = /[\0-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;

/** ftfy's `fix_and_explain` on one line, repeated until the line stops changing. */
function fixLine(line: string, unescape: boolean): string {
  for (;;) {
    let text = unescape ? unescapeEntities(line) : line;
    text = fixEncoding(text);
    text = fixC1Controls(text)
      .replace(LIGATURE, (c) => LIGATURES[c])
      .replace(WIDE_OR_NARROW, (c) => c === "\u3000" ? " " : c.normalize("NFKC"))
      .replace(DOUBLE_QUOTE, '"')
      .replace(SINGLE_QUOTE, "'")
      .replace(LINE_BREAK, "\n")
      .replace(LONE_SURROGATE, "\uFFFD")
      .replace(TERMINAL_ESCAPE, "")
      .replace(CONTROL_CHARS, "")
      .normalize("NFC");
    if (text === line) return text;
    line = text;
  }
}

/**
 * ftfy's `fix_text` with its default configuration, as far as the module doc says: mojibake,
 * curly quotes, ligatures, character widths, control characters, line breaks, HTML entities.
 * @param text the raw text
 * @returns the fixed text
 */
export function fixText(text: string): string {
  const out: string[] = [];
  let unescape = true;
  for (let pos = 0; pos < text.length;) {
    const end = text.includes("\n", pos) ? text.indexOf("\n", pos) + 1 : text.length;
    const line = text.slice(pos, end);
    // ftfy reads a `<` as a sign of real HTML and keeps entities from that line to the end.
    if (line.includes("<")) unescape = false;
    out.push(fixLine(line, unescape));
    pos = end;
  }
  return out.join("");
}

/**
 * CLIP's text clean-up before splitting, as open_clip does it: {@linkcode fixText}, HTML
 * unescaped twice, trimmed, whitespace runs to one space, lower-cased.
 * @param text the raw text
 * @returns the text the tokenizer splits
 */
export function cleanText(text: string): string {
  const unescaped = htmlUnescape(htmlUnescape(fixText(text)));
  return unescaped.replace(PY_SPACE_RUN, " ").replace(PY_STRIP, "").toLowerCase();
}
