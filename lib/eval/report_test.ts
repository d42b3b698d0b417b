import { assert, assertEquals } from "../../tests/support/assert.ts";
import { join } from "node:path";
import {
  classBreakdown,
  type EvalReport,
  formatEvalMarkdown,
  frameBins,
  framesHistogramSvg,
  writeEvalReports,
} from "./report.ts";

Deno.test("classBreakdown counts top-1 and top-5 per class and the most frequent confusions", () => {
  const names = ["archery", "bowling", "zumba", "yoga"];
  // Seven samples ranked over 6 columns: a truth of -1 is skipped, a prediction of -1 ignored.
  const truth = Int32Array.of(0, 0, 0, 1, 1, -1, 2);
  const k = 6;
  const predicted = Int32Array.from([
    [0, 1, 2, 3, -1, -1],
    [1, 0, 2, 3, -1, -1],
    [2, 3, 1, -1, -1, 0], // the truth sixth: not in the top five
    [0, 1, 2, 3, -1, -1],
    [0, 2, 3, 1, -1, -1],
    [1, 1, 1, 1, 1, 1],
    [-1, -1, -1, -1, -1, -1],
  ].flat());
  const { perClass, confusions } = classBreakdown(names, truth, predicted, k);
  assertEquals(perClass, [
    {
      name: "archery",
      count: 3,
      top1: 1 / 3,
      top5: 2 / 3,
      confusedWith: "bowling",
      confusedCount: 1,
    },
    { name: "bowling", count: 2, top1: 0, top5: 1, confusedWith: "archery", confusedCount: 2 },
    { name: "zumba", count: 1, top1: 0, top5: 0 },
  ]);
  assertEquals(confusions, [
    { truth: "bowling", predicted: "archery", count: 2 },
    { truth: "archery", predicted: "bowling", count: 1 },
    { truth: "archery", predicted: "zumba", count: 1 },
  ]);
  assertEquals(classBreakdown(names, truth, predicted, k, 1).confusions.length, 1);
});

Deno.test("frameBins has one bin per count up to 24 frames, then powers of two", () => {
  assertEquals(frameBins({}), [{ label: "0", videos: 0 }]);
  const upTo24 = frameBins({ "24": 2, "3": 1 });
  assertEquals(upTo24.length, 25);
  assertEquals([upTo24[3], upTo24[24]], [{ label: "3", videos: 1 }, { label: "24", videos: 2 }]);
  assertEquals(frameBins({ "25": 1, "16": 2, "2": 1, "3": 1 }), [
    { label: "0", videos: 0 },
    { label: "1", videos: 0 },
    { label: "2–3", videos: 2 },
    { label: "4–7", videos: 0 },
    { label: "8–15", videos: 0 },
    { label: "16–31", videos: 3 },
  ]);
});

Deno.test("framesHistogramSvg is well-formed XML with a bar per bin and the split escaped", async () => {
  const svg = framesHistogramSvg("val<&>", {
    samples: 4,
    tars: 1,
    zeroFrame: 1,
    labelled: 4,
    frames: 7,
    perVideo: { "0": 1, "2": 2, "3": 1 },
  });
  const py = await new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      "import sys, xml.etree.ElementTree as ET; r = ET.fromstring(sys.stdin.read()); " +
      "ns = '{http://www.w3.org/2000/svg}'; " +
      "print([t.text for t in r.iter(ns + 'title')]); print(r.get('aria-label'))",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = py.stdin.getWriter();
  await w.write(new TextEncoder().encode(svg));
  await w.close();
  const out = await py.output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  assertEquals(
    new TextDecoder().decode(out.stdout),
    "['0 frames: 1 videos', '1 frames: 0 videos', '2 frames: 2 videos', '3 frames: 1 videos']\n" +
      "frames per video, val<&>\n",
  );
});

Deno.test("writeEvalReports writes eval.json, eval.md and eval.html that say what was not run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kinembed-report-" });
  try {
    const report: EvalReport = {
      createdAt: "2026-01-02T03:04:05.000Z",
      shards: "/data/shards",
      notRun: { zeroShot: "no --text-model given", linearProbe: "no train split" },
      problems: [{ id: "vid_<1>", error: "embeddings & frames disagree" }],
    };
    const files = await writeEvalReports(join(dir, "reports"), report);
    assertEquals(files, {
      json: join(dir, "reports", "eval.json"),
      markdown: join(dir, "reports", "eval.md"),
      html: join(dir, "reports", "eval.html"),
    });
    assertEquals(JSON.parse(await Deno.readTextFile(files.json)), report);
    const md = await Deno.readTextFile(files.markdown);
    assertEquals(md, formatEvalMarkdown(report));
    assert(md.includes("/data/shards") && md.includes("no --text-model given"), md);
    const html = await Deno.readTextFile(files.html);
    assert(html.includes("<p>Not run: no train split</p>"), html);
    assert(html.includes("<li>vid_&lt;1&gt;: embeddings &amp; frames disagree</li>"), html);
    assert(!html.includes("<script"), "self-contained, no scripts");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
