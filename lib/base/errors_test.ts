import {
  asDiskFull,
  ConfigError,
  ConfigMismatchError,
  DecodeError,
  deviceOf,
  DiskFullError,
  isDiskFull,
  oneLine,
  ProblemListError,
  UsageError,
} from "./errors.ts";
import { assert, assertEquals } from "../../tests/support/assert.ts";

Deno.test("errors: each class names itself, and the configuration errors are ConfigErrors", () => {
  const mismatch = new ConfigMismatchError("w", [{ key: "fps", stored: 1, requested: 2 }]);
  const list = new ProblemListError("bad", ["x"]);
  assertEquals([new UsageError("u").name, new ConfigError("c").name, mismatch.name, list.name], [
    "UsageError",
    "ConfigError",
    "ConfigMismatchError",
    "ProblemListError",
  ]);
  assert(mismatch instanceof ConfigError && list instanceof ConfigError);
  assert(!(new UsageError("u") instanceof ConfigError));
});

Deno.test("errors: ConfigMismatchError names each differing key with both values and what to do", () => {
  const e = new ConfigMismatchError("runs/a", [
    { key: "fps", stored: 1, requested: 2 },
    { key: "model", stored: "ViT-B-32", requested: "ViT-B-16" },
  ]);
  assertEquals(
    e.message,
    'work dir runs/a was made with another configuration: fps is 1 there, 2 now; model is "ViT-B-32" ' +
      'there, "ViT-B-16" now. Use a new --work dir, or the same settings.',
  );
  assertEquals(e.keys, ["fps", "model"]);
  assertEquals(e.workDir, "runs/a");
});

Deno.test("errors: ProblemListError shows at most maxShown problems indented, then counts the rest", () => {
  const problems = Array.from({ length: 5 }, (_, i) => `p${i}`);
  const e = new ProblemListError("cannot merge: 5 problems", problems, 3);
  assertEquals(e.lines, ["cannot merge: 5 problems", "  p0", "  p1", "  p2", "  ... and 2 more"]);
  assertEquals(e.message, e.lines.join("\n"));
  assertEquals(e.problems, problems);
  assertEquals(new ProblemListError("h", ["a", "b"]).lines, ["h", "  a", "  b"]);
  assertEquals(new ProblemListError("h", ["a", "b"], 2).lines, ["h", "  a", "  b"]);
});

Deno.test("errors: DecodeError carries the video id and ffmpeg's stderr tail", () => {
  const e = new DecodeError("abc", "moov atom not found", "line1\nline2");
  assertEquals([e.message, e.videoId, e.stderrTail, e.name], [
    "abc: moov atom not found",
    "abc",
    "line1\nline2",
    "DecodeError",
  ]);
});

Deno.test("errors: oneLine joins trimmed lines and keeps at most 400 characters", () => {
  assertEquals(oneLine(new Error("  a\r\n\n  b  \n")), "a b");
  assertEquals(oneLine(42), "42");
  const long = oneLine(new Error("x".repeat(1000)));
  assertEquals(long.length, 400);
});

Deno.test("errors: isDiskFull knows ENOSPC, EDQUOT, SQLite's full disk and nothing else", () => {
  const withCode = (code: string) => Object.assign(new Error("write failed"), { code });
  assert(isDiskFull(withCode("ENOSPC")) && isDiskFull(withCode("EDQUOT")));
  assert(isDiskFull(Object.assign(new Error("x"), { errcode: 13 })));
  assert(isDiskFull(new Error("No space left on device (os error 28)")));
  assert(isDiskFull(new Error("database or disk is full")));
  assert(isDiskFull(new DiskFullError("/a", "dev")));
  assert(!isDiskFull(withCode("EACCES")) && !isDiskFull(new Error("boom")));
  assert(!isDiskFull("No space left on device"), "a string is not an error");
});

Deno.test("errors: asDiskFull turns a full disk into a DiskFullError naming the file and its device", async () => {
  const dir = await Deno.makeTempDir({ prefix: "errors_test_" });
  try {
    const path = `${dir}/train-000000.tar`;
    const full = Object.assign(new Error("No space left on device (os error 28)"), {
      code: "ENOSPC",
    });
    const e = asDiskFull(full, path);
    assert(e instanceof DiskFullError, String(e));
    assertEquals(e.message, `no space left on ${deviceOf(path)} writing ${path}`);
    assertEquals([e.path, e.device], [path, deviceOf(dir)]);
    assertEquals(asDiskFull(e, "/x"), e);
    const other = new Error("boom");
    assertEquals(asDiskFull(other, path), other);
    assertEquals(
      new DiskFullError("/p", "d", "kept 3 shards").message,
      "no space left on d writing /p; kept 3 shards",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("errors: deviceOf names the mount a path (even one not yet made) lies on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "errors_test_" });
  try {
    const here = deviceOf(dir);
    assertEquals(deviceOf(`${dir}/not/made/yet.tar`), here);
    assert(/mounted at \/|holding \//.test(here), here);
    const top = dir.slice(0, dir.indexOf("/", 1));
    assertEquals(deviceOf(`${top}/x/y`), deviceOf(top));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
