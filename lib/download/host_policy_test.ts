import { join } from "node:path";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { tempDir } from "../../tests/support/media.ts";
import { download } from "./download.ts";
import { formatIssue } from "./annotations.ts";
import { refusedHostReason, refuseUnnamedHost } from "./host_policy.ts";

Deno.test("host policy: link-local and metadata hosts in every spelling, and only those", () => {
  const refused = [
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/x.tar.gz", // the same address as one decimal number
    "http://0xa9fea9fe/x.tar.gz",
    "http://169.254.1.1:8080/x.tar.gz",
    "http://[::ffff:169.254.169.254]/x.tar.gz",
    "http://[0:0:0:0:0:ffff:a9fe:a9fe]/x.tar.gz",
    "http://[fe80::1]/x.tar.gz",
    "https://[febf:1::2]/x.tar.gz",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://[fd00:ec2::254]/latest/",
  ];
  for (const u of refused) assert(refusedHostReason(u) !== null, u);
  const fine = [
    "http://127.0.0.1:8000/a.tar.gz",
    "https://s3.amazonaws.com/kinetics/700_2020/train/abseiling.tar.gz",
    "http://169.255.0.1/x",
    "http://[fec0::1]/x",
    "http://[::1]/x",
  ];
  for (const u of fine) assertEquals(refusedHostReason(u), null, u);
  assertEquals(refuseUnnamedHost("http://169.254.169.254/x", ["169.254.169.254"]), null);
  assertEquals(refuseUnnamedHost("http://169.254.169.254:81/x", ["169.254.169.254:81"]), null);
  assert(refuseUnnamedHost("http://169.254.169.254:81/x", ["169.254.169.254:82"]) !== null);
  assertEquals(refuseUnnamedHost("http://[fe80::1]/x", ["[fe80::1]"]), null);
});

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
