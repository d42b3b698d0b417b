import { join } from "node:path";
import { assert, assertEquals } from "./support/assert.ts";
import { repoPath, tempDir } from "./support/media.ts";
import { viewInChromium } from "./support/chromium.ts";
import { readHubDataFiles } from "./support/hub_data_files.ts";
import { parseSplitsCsv } from "../lib/webdataset/mod.ts";

Deno.test("./kinembed demo: every step on the fixture dataset; verify passes; the probe keeps the signal (top-1 ≥ 0.9)", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const work = join(dir, "work");
    const run = (args: string[]) =>
      new Deno.Command(repoPath("kinembed"), {
        args,
        cwd: repoPath(),
        env: { KINEMBED_QUIET: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
    const out = await run(["demo", "--work", work, "--quiet"]);
    const stdout = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr) + stdout);
    assert(stdout.includes(`shards in ${join(work, "shards")}`), stdout);
    assert(stdout.includes("verify passed"), stdout);
    const report = JSON.parse(await Deno.readTextFile(join(work, "reports", "eval.json")));
    assert(report.linearProbe.top1 >= 0.9, `probe top-1 ${report.linearProbe.top1}`);
    assertEquals(report.linearProbe.split, "val");
    assert(
      report.zeroShot.count > 0 && report.zeroShot.classes === 8,
      JSON.stringify(report.zeroShot),
    );
    for (const f of ["eval.md", "eval.html"]) {
      assert((await Deno.stat(join(work, "reports", f))).size > 0);
    }
    // an independent reader agrees with the card's totals
    const py = await new Deno.Command("/usr/bin/python3", {
      args: [
        "-c",
        `import csv, tarfile, io, json, numpy as np, sys
shards = sys.argv[1]
rows = list(csv.DictReader(open(shards + "/splits.csv")))
n = {}
for r in rows:
    with tarfile.open(shards + "/" + r["tar_file"]) as t:
        for m in t.getmembers():
            if m.name.endswith(".npy"):
                a = np.load(io.BytesIO(t.extractfile(m).read()))
                assert a.dtype == np.float16 and a.ndim == 2 and a.shape[1] == 512, (m.name, a.shape)
                n[r["split"]] = n.get(r["split"], 0) + 1
print(json.dumps(n, sort_keys=True))`,
        join(work, "shards"),
      ],
      stdout: "piped",
    }).output();
    const counts = JSON.parse(new TextDecoder().decode(py.stdout));
    const ds = JSON.parse(await Deno.readTextFile(join(work, "demo-dataset", "dataset.json")));
    assertEquals(counts, {
      test: ds.splits.test.samples,
      train: ds.splits.train.samples,
      val: ds.splits.val.samples,
    });
    // the shards' Hub card: verify reads its totals back, its data_files map every tar
    const card = join(work, "shards", "README.md");
    const v = await run(["verify", "--work", work, "--card", card, "--json"]);
    assertEquals(v.code, 0, new TextDecoder().decode(v.stderr));
    assertEquals(JSON.parse(new TextDecoder().decode(v.stdout)).ok, true);
    const hub = await readHubDataFiles(join(work, "shards"));
    const names = { train: "train", val: "validation", test: "test" } as const;
    const csv = parseSplitsCsv(await Deno.readTextFile(join(work, "shards", "splits.csv")));
    assertEquals(hub.mapping, Object.fromEntries(csv.map((r) => [r.tarFile, names[r.split]])));
    assertEquals(hub.counts, {
      train: ds.splits.train.samples,
      validation: ds.splits.val.samples,
      test: ds.splits.test.samples,
    });
    assert(
      (await Deno.readTextFile(card)).includes("### Linear-probe Evaluation"),
      "eval's numbers",
    );

    // the report as a browser shows it: the sections there, the SVG charts drawn
    const html = await Deno.readTextFile(join(work, "reports", "eval.html"));
    assert(!/<script|\b(src|href)\s*=/i.test(html), "self-contained: no scripts, no links");
    // tall enough for every section: zero-shot, retrieval, probe and their charts
    const view = await viewInChromium(
      join(work, "reports", "eval.html"),
      dir,
      ["72,120,168", "192,80,64"],
      4000,
    );
    for (
      const heading of [
        "Provenance",
        "Split totals",
        "Per class, worst first",
        "Frames per video",
        "Most confused pairs",
      ]
    ) assert(view.dom.includes(heading), `${heading} in the rendered page`);
    assert(view.dom.includes(report.provenance.configHash), "the config hash is shown");
    assertEquals(view.size, [1280, 4000]);
    assert(view.inked > 0.02, `the page has content: ${view.inked}`);
    assert(view.colours["72,120,168"] > 500, `bars drawn: ${JSON.stringify(view.colours)}`);

    // a second demo finds everything done
    const again = await run(["demo", "--work", work, "--quiet", "--json"]);
    assertEquals(again.code, 0);
    const summary = JSON.parse(new TextDecoder().decode(again.stdout));
    assertEquals([summary.task, summary.ok, summary.verifyOk], ["demo", true, true]);
  } finally {
    await cleanup();
  }
});
