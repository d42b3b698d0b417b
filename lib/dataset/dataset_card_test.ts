import { FormatError, parseSplitName } from "../base/mod.ts";
import { parseCardSplits, readCardSplits } from "./dataset_card.ts";
import { formatSplitsCsv, parseSplitsCsv } from "../webdataset/mod.ts";
import { syntheticCard } from "../../fixtures/synthetic_work_dir.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { repoPath } from "../../tests/support/media.ts";

Deno.test("dataset card: the published card's Data Splits", async () => {
  assertEquals(await readCardSplits(repoPath("data", "clip-kinetics700-card.md")), {
    train: { samples: 536489, tars: 54 },
    val: { samples: 33966, tars: 4 },
    test: { samples: 64532, tars: 7 },
  });
});

Deno.test("dataset card: names match case-insensitively; the section ends at the next heading", () => {
  const text = [
    "# Card",
    "## Data Splits",
    "Some prose before the list.",
    "",
    "- TRAIN: 1,000 samples | 1 tar",
    "* val - 20 samples | 2 tars",
    "* Testing – 3 samples , 1 tar's",
    "## Next",
    "* Other - 5 samples | 1 tar's",
  ].join("\r\n");
  assertEquals(parseCardSplits(text), {
    train: { samples: 1000, tars: 1 },
    val: { samples: 20, tars: 2 },
    test: { samples: 3, tars: 1 },
  });
  assertEquals(parseCardSplits(syntheticCard({ val: { samples: 4, tars: 1 } })), {
    val: { samples: 4, tars: 1 },
  });
  assertEquals(
    ["Train", "Validation", "VAL", "valid", "test", "dev"].map(parseSplitName),
    ["train", "val", "val", "val", "test", null],
  );
});

Deno.test("dataset card: missing section, unknown split and unreadable lines name the line", async () => {
  let e = await assertRejects(
    () => parseCardSplits("# Card\n## Data Fields\n* Train - 1 samples | 1 tar's\n", "c.md"),
    'c.md: no "Data Splits" section',
  );
  assert(e instanceof FormatError);
  e = await assertRejects(
    () =>
      parseCardSplits(
        "### Data Splits\n* Train - 1 samples | 1 tar's\n* Holdout - 2 samples | 1 tar's\n",
        "c.md",
      ),
    /c\.md:3: unknown split "Holdout"/,
  );
  assert(e instanceof FormatError);
  await assertRejects(
    () => parseCardSplits("### Data Splits\n* Train has many samples\n", "c.md"),
    /c\.md:2: cannot read split line/,
  );
  await assertRejects(
    () => parseCardSplits("### Data Splits\n\n### Next\n", "c.md"),
    "lists no splits",
  );
  await assertRejects(
    () =>
      parseCardSplits(
        "### Data Splits\n* Train - 1 samples | 1 tar's\n* train - 1 samples | 1 tar's\n",
      ),
    "listed twice",
  );
});

Deno.test("splits.csv: written with train/val/test, read accepting Validation and any case", async () => {
  const text = formatSplitsCsv([
    { tarFile: "ds_000000.tar", split: "train" },
    { tarFile: "ds_000001.tar", split: "val" },
  ]);
  assertEquals(text, "tar_file,split\nds_000000.tar,train\nds_000001.tar,val\n");
  assertEquals(
    parseSplitsCsv("split,tar_file\r\nValidation,ds_000054.tar\r\nTEST,dir/ds_000058.tar\r\n"),
    [{ tarFile: "ds_000054.tar", split: "val" }, { tarFile: "ds_000058.tar", split: "test" }],
  );
  await assertRejects(() => parseSplitsCsv("tar,split\n"), "header must name");
  await assertRejects(
    () => parseSplitsCsv("tar_file,split\nds_0.tar,holdout\n", "s.csv"),
    "s.csv:2",
  );
});
