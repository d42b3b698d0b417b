import { join } from "node:path";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";
import { failureReason, formatFailureSummary, writeFailureList } from "./failure_report.ts";

Deno.test("failure list: 100k failures give a short summary and a complete CSV", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const items = function* () {
      for (let i = 0; i < 100_000; i++) {
        const id = `v${String(i).padStart(6, "0")}`;
        yield i % 10 === 0
          ? { id, split: "val", error: `archive c${i % 700}.tar.gz failed: HTTP 404` }
          : { id, split: "train", error: `no archive listed for train/class ${i % 700}, "x"` };
      }
    };
    const file = join(dir, "reports", "download_failures.csv");
    const s = await writeFailureList(items(), file, "download");
    assertEquals(s.total, 100_000);
    assertEquals(s.reasons, [
      { reason: "no archive listed for train/…", count: 90_000 },
      { reason: "archive … failed: HTTP 404", count: 10_000 },
    ]);
    const lines = formatFailureSummary(s, "videos failed");
    assert(lines.length <= 20, lines.join("\n"));
    assertEquals(lines[0], "100000 videos failed:");
    assert(lines.some((l) => l.includes("v000000, v000001")), lines.join("\n"));
    assertEquals(lines.at(-1), `  complete list: ${file}`);
    const csv = (await Deno.readTextFile(file)).split("\n");
    assertEquals(csv[0], "id,split,step,reason");
    assertEquals(csv[1], "v000000,val,download,archive c0.tar.gz failed: HTTP 404");
    assertEquals(csv[2], 'v000001,train,download,"no archive listed for train/class 1, ""x"""');
    assertEquals(csv.length, 100_002, "a line per failure and the final newline");
    // nothing failed on a rerun: the stale list goes
    const none = await writeFailureList([], file, "download");
    assertEquals(none.file, null);
    assertEquals(formatFailureSummary(none), []);
    assert(!(await Deno.stat(file).then(() => true, () => false)));
  } finally {
    await cleanup();
  }
});

Deno.test("failure list: many different reasons are folded into one line past the eighth", () => {
  const reasons = Array.from(
    { length: 30 },
    (_, i) => ({ reason: `reason ${"x".repeat(i)}`, count: 30 - i }),
  );
  const lines = formatFailureSummary({
    total: 465,
    reasons,
    first: [{ id: "a", error: "x" }],
    file: null,
  });
  assertEquals(lines.length, 1 + 8 + 1 + 1);
  assertEquals(lines[9], "      253  (22 other reasons)");
  assertEquals(
    failureReason("abc_000001_000011: ffmpeg: moov atom not found at /w/videos/a.mp4"),
    "ffmpeg: moov atom not found at …",
  );
});
