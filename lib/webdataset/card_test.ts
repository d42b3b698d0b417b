import { join } from "node:path";
import {
  CARD_EVAL_END,
  CARD_EVAL_START,
  cardDataFiles,
  cardEvalSection,
  cardEvalTempPath,
  hubCardWithEval,
  updateHubCardEval,
} from "./card.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";

Deno.test("card: data_files keep each split's tars in plan order, every split named", () => {
  const files = cardDataFiles([
    { file: "ds_000000.tar", split: "train" },
    { file: "ds_000001.tar", split: "train" },
    { file: "ds_000002.tar", split: "test" },
  ]);
  assertEquals(files, {
    train: ["ds_000000.tar", "ds_000001.tar"],
    val: [],
    test: ["ds_000002.tar"],
  });
});

Deno.test("card: eval numbers go between the markers; a card without them is left alone", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await evalSectionChecks(dir);
  } finally {
    await cleanup();
  }
});

async function evalSectionChecks(dir: string): Promise<void> {
  const card = join(dir, "README.md");
  await Deno.writeTextFile(card, "# someone else's card\n");
  assertEquals(await hubCardWithEval(dir), undefined);
  assertEquals(await updateHubCardEval(dir, "### Zero-shot Evaluation\n\nzs"), undefined);
  assertEquals(await Deno.readTextFile(card), "# someone else's card\n");

  await Deno.writeTextFile(
    card,
    `# card\n${CARD_EVAL_START}\nNot evaluated yet.\n${CARD_EVAL_END}\n`,
  );
  assertEquals(await hubCardWithEval(dir), card);
  assertEquals(await updateHubCardEval(dir, "### Zero-shot Evaluation\n\nzs"), card);
  assertEquals(cardEvalSection(await Deno.readTextFile(card)), "### Zero-shot Evaluation\n\nzs");
  assert(cardEvalTempPath(dir).startsWith(join(dir, ".README.md.eval")));
}
