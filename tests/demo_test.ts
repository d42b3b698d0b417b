import { join } from "node:path";
import { assert, assertEquals } from "./support/assert.ts";
import { repoPath, tempDir } from "./support/media.ts";

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
    // a second demo finds everything done
    const again = await run(["demo", "--work", work, "--quiet"]);
    assertEquals(again.code, 0);
  } finally {
    await cleanup();
  }
});
