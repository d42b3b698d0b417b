import { join } from "node:path";
import { ConfigError, FormatError } from "../base/mod.ts";
import {
  formatSplitsCsv,
  parseSplitsCsv,
  readShardSplits,
  type SplitsCsvRow,
} from "./splits_csv.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { pythonJson } from "../../tests/support/python.ts";

const rows: SplitsCsvRow[] = [
  { tarFile: "ds_000000.tar", split: "train" },
  { tarFile: "ds_000001.tar", split: "train" },
  { tarFile: "ds_000002.tar", split: "val" },
  { tarFile: "ds_000003.tar", split: "test" },
];

Deno.test("splits.csv: what we write, Python's csv reads as the same rows, and we read back", async () => {
  const text = formatSplitsCsv(rows);
  const py = await pythonJson<Record<string, string>[]>(
    "import csv, io, json, sys\nprint(json.dumps(list(csv.DictReader(io.StringIO(sys.argv[1])))))",
    [text],
  );
  assertEquals(py, rows.map((r) => ({ tar_file: r.tarFile, split: r.split })));
  assertEquals(parseSplitsCsv(text), rows);
  assertEquals(formatSplitsCsv([]), "tar_file,split\n");
  assertEquals(parseSplitsCsv(formatSplitsCsv([])), []);
});

Deno.test("splits.csv: a BOM, CRLF, quotes, blank lines, extra columns and folders are read", () => {
  const text = '\uFEFFindex,Split , TAR_FILE\r\n0,"Train","shards/ds_000000.tar"\r\n\r\n' +
    "1, validation ,ds_000001.tar\r\n2,TEST,s3://bucket/set/ds_000002.tar\r\n   \r\n";
  assertEquals(parseSplitsCsv(text), [
    { tarFile: "ds_000000.tar", split: "train" },
    { tarFile: "ds_000001.tar", split: "val" },
    { tarFile: "ds_000002.tar", split: "test" },
  ]);
});

Deno.test("splits.csv: a bad line is refused naming the file and line", async () => {
  const refuse = async (text: string, message: string) => {
    const e = await assertRejects(() => parseSplitsCsv(text, "set/splits.csv"), message);
    assert(e instanceof FormatError);
    assertEquals(e.message, message);
  };
  await refuse("", "set/splits.csv:1: header must name columns tar_file and split");
  await refuse(
    "file,split\nds_000000.tar,train\n",
    "set/splits.csv:1: header must name columns tar_file and split",
  );
  await refuse("tar_file,split\nds_000000.tar,train\n,val\n", "set/splits.csv:3: no tar_file");
  await refuse("tar_file,split\nds_000000.tar\n", 'set/splits.csv:2: unknown split ""');
  await refuse("tar_file,split\nds_000000.tar,dev\n", 'set/splits.csv:2: unknown split "dev"');
});

Deno.test("readShardSplits resolves splits.csv's tars per split and names what is missing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kinembed-splits-" });
  try {
    await assertRejects(
      () => readShardSplits(dir),
      `${join(dir, "splits.csv")} not found: eval needs the split of each shard`,
    );
    for (const t of ["ds_000000.tar", "ds_000001.tar", "ds_000002.tar"]) {
      await Deno.writeFile(join(dir, t), new Uint8Array(0));
    }
    await Deno.writeTextFile(
      join(dir, "splits.csv"),
      formatSplitsCsv([
        { tarFile: "ds_000001.tar", split: "train" },
        { tarFile: "ds_000000.tar", split: "train" },
        { tarFile: "ds_000002.tar", split: "val" },
      ]),
    );
    assertEquals(await readShardSplits(dir), {
      train: [join(dir, "ds_000001.tar"), join(dir, "ds_000000.tar")],
      val: [join(dir, "ds_000002.tar")],
    });
    await Deno.remove(join(dir, "ds_000002.tar"));
    const e = await assertRejects(
      () => readShardSplits(dir),
      `names ds_000002.tar, which is not in ${dir}`,
    );
    assert(e instanceof ConfigError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
