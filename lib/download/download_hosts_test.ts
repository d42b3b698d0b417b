import { join } from "node:path";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";
import { download } from "./download.ts";
import { formatIssue } from "./annotations.ts";

Deno.test("host policy: a plain video list's link-local URL is refused with file:line", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    const list = join(dir, "videos.csv");
    await Deno.writeTextFile(
      list,
      "path,label,split\nhttp://169.254.169.254/latest/a.mp4,abseiling,train\n",
    );
    const report = await download({
      work: join(dir, "w"),
      videos: [list],
      quiet: true,
      log: () => {},
    });
    assertEquals(report.requests, 0);
    assertEquals(report.selected, 0);
    assert(
      formatIssue(report.issues[0]).endsWith(
        "videos.csv:2: http://169.254.169.254/latest/a.mp4: refused link-local address " +
          "169.254.169.254 (give --allow-host 169.254.169.254 to fetch from it)",
      ),
      formatIssue(report.issues[0]),
    );
  } finally {
    await cleanup();
  }
});
