import { deepStrictEqual, throws } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { UsageError } from "../base/mod.ts";
import {
  cardCitations,
  cardSourceFromFlags,
  CLIP_BIBTEX,
  KINETICS700_BIBTEX,
  mergeCardSources,
  readCardSource,
} from "./card_source.ts";

Deno.test("readCardSource: the published CLIP-Kinetics700 card's license, no source_datasets", async () => {
  const card = await Deno.readTextFile(
    fileURLToPath(new URL("../../data/clip-kinetics700-card.md", import.meta.url)),
  );
  deepStrictEqual(readCardSource(card), { licenses: ["mit"], sourceDatasets: [], citations: [] });
});

Deno.test("readCardSource: inline and quoted values, bibtex blocks; none without front matter", () => {
  const card = '---\nlicense: "cc-by-4.0"\nsource_datasets: [kinetics700, original]\n---\n' +
    "```bibtex\n@misc{a,\n  title = {A}\n}\n```\n";
  deepStrictEqual(readCardSource(card), {
    licenses: ["cc-by-4.0"],
    sourceDatasets: ["kinetics700", "original"],
    citations: ["@misc{a,\n  title = {A}\n}"],
  });
  deepStrictEqual(readCardSource("# no front matter\nlicense: mit\n").licenses, []);
});

Deno.test("cardSourceFromFlags: repeated and comma lists, deduplicated; bad ids refused", () => {
  deepStrictEqual(cardSourceFromFlags([], []), undefined);
  deepStrictEqual(cardSourceFromFlags(["mit", "mit,apache-2.0"], ["kinetics700"]), {
    licenses: ["mit", "apache-2.0"],
    sourceDatasets: ["kinetics700"],
    citations: [],
  });
  throws(() => cardSourceFromFlags(["MIT"], []), UsageError);
  throws(() => cardSourceFromFlags([], ["a b"]), /--source-dataset "a b": not a dataset name/);
});

Deno.test("cardCitations: Kinetics-700 only for a Kinetics source, CLIP always, each once", () => {
  const none = { licenses: [], sourceDatasets: [], citations: [] };
  deepStrictEqual(cardCitations(none), [CLIP_BIBTEX]);
  const k = { ...none, sourceDatasets: ["Kinetics-700"], citations: ["@misc{x}", CLIP_BIBTEX] };
  deepStrictEqual(cardCitations(k), ["@misc{x}", KINETICS700_BIBTEX, CLIP_BIBTEX]);
  deepStrictEqual(mergeCardSources(undefined, k), k);
});
