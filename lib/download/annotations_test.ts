import { mulberry32, parseSplitName } from "../base/mod.ts";
import type { VideoRow } from "../core/mod.ts";
import nodeAssert from "node:assert/strict";
import { assert, assertEquals } from "../../tests/support/assert.ts";
import { join } from "node:path";
import {
  folderPlace,
  formatIssue,
  labelDirName,
  parseCsv,
  parseKineticsCsv,
  parseKineticsJson,
  parseVideoFileName,
  parseVideoList,
  readAnnotations,
  readVideoLists,
  refuseEmptyInput,
  videoFolderList,
  videoId,
} from "./annotations.ts";
import { parseSplits, selectSubset } from "./subset.ts";
import { writeKineticsShapeCsvs } from "../../fixtures/kinetics_shape.ts";

const assertMatch = (s: string, re: RegExp) => nodeAssert.match(s, re);
const assertNotEquals = (a: unknown, b: unknown) => nodeAssert.notDeepStrictEqual(a, b);
const assertThrows = (fn: () => unknown) => nodeAssert.throws(fn);

Deno.test("parseCsv: BOM, CRLF, quotes with commas, doubled quotes and line breaks", () => {
  const text = '\uFEFFa,b\r\n"x, y","say ""hi"""\r\n\r\n"multi\nline",z\n';
  const recs = parseCsv(text);
  assertEquals(recs.map((r) => r.fields), [["a", "b"], ["x, y", 'say "hi"'], ["multi\nline", "z"]]);
  assertEquals(recs.map((r) => r.line), [1, 2, 4]);
});

Deno.test("video ids and file names: built with 6-digit times, parsed from the right", () => {
  assertEquals(videoId("abc_-x", 14, 24), "abc_-x_000014_000024");
  assertEquals(videoId("a", 3.9, 13.9), "a_000003_000013");
  assertEquals(parseVideoFileName("train/x/ab_c_-d_000001_000011.mp4"), {
    youtubeId: "ab_c_-d",
    timeStart: 1,
    timeEnd: 11,
    ext: ".mp4",
  });
  assertEquals(parseVideoFileName("clip.mp4"), null);
  assertEquals(parseVideoFileName("a.b_000001_000011.mp4"), null);
  assertEquals(parseSplitName("Validate"), "val");
  assertEquals(parseSplitName("validation"), "val");
  assertEquals(parseSplitName("nope"), null);
  assertEquals(
    labelDirName("passing American football (in game)"),
    "passing_American_football_(in_game)",
  );
  assertEquals(labelDirName("../../etc"), "______etc");
  assertEquals(labelDirName(null), "_unlabelled");
});

Deno.test("Kinetics CSV: errors name file and line, valid rows are kept", () => {
  const csv = [
    "\uFEFFlabel,youtube_id,time_start,time_end,split",
    "abseiling,aaaaaaaaaaa,0,10,train",
    '"air drumming",bbb_b-bbbbb,14,24,validate',
    "abseiling,ccccccccccc,abc,10,train", // bad time
    "abseiling,ddddddddddd,5,5,train", // end not after start
    ",eeeeeeeeeee,0,10,train", // empty label
    "abseiling,aaaaaaaaaaa,0,10,train", // duplicate id
    "abseiling,../../x,0,10,train", // unsafe id
    "abseiling,a/b,0,10,train", // unsafe id
    "abseiling,fffffffffff,0,10", // missing column
    "abseiling,ggggggggggg,0,10,holdout", // unknown split
    "archery,hhhhhhhhhhh,30,40,val",
  ].join("\r\n") + "\r\n";
  const set = parseKineticsCsv(csv, "train.csv");
  assertEquals(set.rows.map((r) => r.id), [
    "aaaaaaaaaaa_000000_000010",
    "bbb_b-bbbbb_000014_000024",
    "hhhhhhhhhhh_000030_000040",
  ]);
  assertEquals(set.rows[1].split, "val");
  assertEquals(set.rows[1].label, "air drumming");
  assertEquals(set.rows[0].source, "https://www.youtube.com/watch?v=aaaaaaaaaaa");
  const lines = set.issues.map(formatIssue);
  assertEquals(set.issues.map((i) => i.line), [4, 5, 6, 7, 8, 9, 10, 11]);
  assertMatch(lines[0], /^train\.csv:4: bad time_start "abc"$/);
  assertMatch(lines[1], /^train\.csv:5: bad times/);
  assertMatch(lines[2], /^train\.csv:6: empty label in a train row$/);
  assertMatch(
    lines[3],
    /^train\.csv:7: duplicate id aaaaaaaaaaa_000000_000010 \(first at train\.csv:2\)$/,
  );
  assertMatch(lines[4], /^train\.csv:8: unsafe youtube_id "\.\.\/\.\.\/x"/);
  assertMatch(lines[5], /^train\.csv:9: unsafe youtube_id "a\/b"/);
  assertMatch(lines[6], /^train\.csv:10: expected 5 fields/);
  assertMatch(lines[7], /^train\.csv:11: unknown split "holdout"/);
});

Deno.test("Kinetics CSV: a missing header column rejects the file; test CSV may lack label", () => {
  const bad = parseKineticsCsv("label,youtube_id,time_start,split\na,b,1,train\n", "x.csv");
  assertEquals(bad.rows, []);
  assertEquals(
    formatIssue(bad.issues[0]),
    "x.csv:1: missing column time_end (header has label,youtube_id,time_start,split); no rows read from this file",
  );
  const test = parseKineticsCsv(
    "youtube_id,time_start,time_end,split\nzzzzzzzzzzz,1,11,test\nyyyyyyyyyyy,1,11,train\n",
    "test.csv",
  );
  assertEquals(test.rows.map((r) => [r.id, r.split, r.label]), [[
    "zzzzzzzzzzz_000001_000011",
    "test",
    null,
  ]]);
  assertEquals(formatIssue(test.issues[0]), "test.csv:3: empty label in a train row");
});

Deno.test("DeepMind JSON: rows, test entries without label, bad entries with their line", () => {
  const json = JSON.stringify(
    {
      "---QUuC4vJs": {
        annotations: { label: "testifying", segment: [84.0, 94.0] },
        duration: 10.0,
        subset: "validate",
        url: "https://www.youtube.com/watch?v=---QUuC4vJs",
      },
      "t_t_t_t_t_t": { annotations: { segment: [1, 11] }, subset: "test" },
      "bad/id": { annotations: { label: "x", segment: [0, 10] }, subset: "train" },
      "nosegment11": { annotations: { label: "x" }, subset: "train" },
    },
    null,
    2,
  );
  const set = parseKineticsJson(json, "k700.json");
  assertEquals(set.rows.map((r) => [r.id, r.split, r.label]), [
    ["---QUuC4vJs_000084_000094", "val", "testifying"],
    ["t_t_t_t_t_t_000001_000011", "test", null],
  ]);
  assertEquals(set.rows[0].source, "https://www.youtube.com/watch?v=---QUuC4vJs");
  assertEquals(set.issues.length, 2);
  assertMatch(formatIssue(set.issues[0]), /^k700\.json:\d+: entry "bad\/id": unsafe youtube_id/);
  assertMatch(formatIssue(set.issues[1]), /^k700\.json:\d+: entry "nosegment11": bad time_start/);
  assertEquals(
    parseKineticsJson("[1]", "a.json").issues[0].message,
    "expected an object keyed by YouTube id",
  );
});

Deno.test("readAnnotations: CSV and JSON files together, duplicates across files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kinembed_ann_" });
  try {
    const a = join(dir, "a.csv");
    const b = join(dir, "b.json");
    await Deno.writeTextFile(
      a,
      "label,youtube_id,time_start,time_end,split\nx,aaaaaaaaaaa,0,10,train\n",
    );
    await Deno.writeTextFile(
      b,
      JSON.stringify({
        aaaaaaaaaaa: { annotations: { label: "x", segment: [0, 10] }, subset: "train" },
      }),
    );
    const set = await readAnnotations([a, b]);
    assertEquals(set.rows.length, 1);
    assertEquals(set.issues.length, 1);
    assertMatch(
      formatIssue(set.issues[0]),
      /b\.json:1: duplicate id aaaaaaaaaaa_000000_000010 \(first at .*a\.csv:2\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("plain video lists: local and URL paths, ids from times, Kinetics names or safe stems", () => {
  const csv = [
    "path,label,split,youtube_id,time_start,time_end",
    "clips/a.mp4,abseiling,train,aaaaaaaaaaa,0,10",
    "http://h/v/b.mp4,archery,val,,,",
  ].join("\n");
  const timed = parseVideoList(csv, "/data/list.csv");
  assertEquals(timed.rows.map((r) => [r.id, r.source]), [[
    "aaaaaaaaaaa_000000_000010",
    "/data/clips/a.mp4",
  ]]);
  assertMatch(formatIssue(timed.issues[0]), /^\/data\/list\.csv:3: unsafe youtube_id ""/);

  const plain = parseVideoList(
    [
      "path,label,split",
      "/v/xyz_abc_000005_000015.mp4,abseiling,train",
      "my clip (1).mp4,archery,val",
      "plain.mp4,archery,val",
      "http://h/v/caf%C3%A9.mp4,,test",
      "plain.mp4,archery,val",
      "other.mp4,,train",
    ].join("\n"),
    "/d/l.csv",
  );
  const ids = plain.rows.map((r) => r.id);
  assertEquals(ids[0], "xyz_abc_000005_000015");
  assertEquals(plain.rows[0].youtubeId, "xyz_abc");
  assertMatch(ids[1], /^my_clip__1__[0-9a-f]{8}$/);
  assertEquals(ids[2], "plain");
  assertEquals([plain.rows[2].timeStart, plain.rows[2].timeEnd], [0, 0]);
  assertMatch(ids[3], /^caf__[0-9a-f]{8}$/);
  assertEquals(plain.rows[3].label, null);
  assertEquals(plain.rows[3].source, "http://h/v/caf%C3%A9.mp4");
  assertEquals(plain.issues.map(formatIssue), [
    "/d/l.csv:6: duplicate id plain (first at /d/l.csv:4)",
    "/d/l.csv:7: empty label in a train row",
  ]);
  assertEquals(parseVideoList("file,label\n", "x.csv").issues[0].line, 1);
});

function fakeRows(): VideoRow[] {
  const rows: VideoRow[] = [];
  for (const split of ["train", "val"] as const) {
    for (let c = 0; c < 5; c++) {
      for (let i = 0; i < 20; i++) {
        const yt = `${split[0]}${c}${String(i).padStart(9, "0")}`;
        rows.push({
          id: videoId(yt, i, i + 10),
          split,
          label: `class ${c}`,
          youtubeId: yt,
          timeStart: i,
          timeEnd: i + 10,
          source: null,
        });
      }
    }
  }
  return rows;
}

Deno.test("subset: same seed same ids (whatever the input order), other seed other ids", () => {
  const rows = fakeRows();
  const a = selectSubset(rows, { perClass: 3, seed: 1 }).map((r) => r.id);
  const b = selectSubset(rows.slice().reverse(), { perClass: 3, seed: 1 }).map((r) => r.id);
  const c = selectSubset(rows, { perClass: 3, seed: 2 }).map((r) => r.id);
  assertEquals(a.length, 2 * 5 * 3);
  assertEquals(a, b);
  assertNotEquals(a, c);
  assertEquals(a, a.slice().sort());
  // per class and split: exactly 3 each
  const per = new Map<string, number>();
  for (const r of selectSubset(rows, { perClass: 3, seed: 1 })) {
    per.set(`${r.split}/${r.label}`, (per.get(`${r.split}/${r.label}`) ?? 0) + 1);
  }
  assertEquals([...per.values()], Array(10).fill(3));
  const val = selectSubset(rows, { splits: ["val"], limit: 7, seed: 9 });
  assertEquals(val.length, 7);
  assert(val.every((r) => r.split === "val"));
  assertEquals(selectSubset(rows, { splits: ["train"] }).length, 100);
  // the PRNG's sequence is fixed: these are mulberry32's first draws for seed 0 and 42
  const r0 = mulberry32(0);
  assertEquals([r0(), r0()].map((x) => Math.round(x * 2 ** 32)), [1144304738, 1416247]);
  const r42 = mulberry32(42);
  assertEquals(Math.round(r42() * 2 ** 32), 2581720956);
  assertEquals(parseSplits("validate,train,train"), ["train", "val"]);
  assertThrows(() => parseSplits("train,dev"));
});

Deno.test("a folder of videos stands for a plain list: split and class from <split>/<class>/, sorted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (
      const p of [
        "train/abseiling/a1.mp4",
        "validate/air drumming/b, 2.webm",
        "flat.mp4",
        "train/x.txt",
      ]
    ) {
      await Deno.mkdir(join(dir, p, ".."), { recursive: true });
      await Deno.writeFile(join(dir, p), new Uint8Array([0]));
    }
    const r = await readVideoLists([dir]);
    assertEquals(r.issues, []);
    assertEquals(
      r.rows.map((x) => [x.split, x.label, x.source]),
      [
        ["test", null, join(dir, "flat.mp4")],
        ["train", "abseiling", join(dir, "train/abseiling/a1.mp4")],
        ["val", "air drumming", join(dir, "validate/air drumming/b, 2.webm")],
      ],
    );
    assert(r.rows.every((x) => /^[A-Za-z0-9_\-.]+$/.test(x.id)), r.rows.map((x) => x.id).join(" "));
    assertEquals(r.notes, [`${dir}: skipped 1 file: 1 not a video extension (train/x.txt)`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a folder of videos: skipped files are counted and named in one line; a symlink inside is followed, one leading out is refused", async () => {
  const dir = await Deno.makeTempDir();
  const outside = await Deno.makeTempDir();
  try {
    const write = async (p: string) => {
      await Deno.mkdir(join(dir, p, ".."), { recursive: true });
      await Deno.writeFile(join(dir, p), new Uint8Array([0]));
    };
    await write("train/abseiling/a1.mp4");
    await write("train/abseiling/sound.m4a");
    await write("train/abseiling/notes.txt");
    await write("store/e5.mp4");
    await Deno.writeFile(join(outside, "secret.mp4"), new Uint8Array([0]));
    await Deno.symlink(join(dir, "store/e5.mp4"), join(dir, "train/abseiling/b2.mp4"));
    await Deno.symlink(join(outside, "secret.mp4"), join(dir, "train/abseiling/c3.mp4"));
    await Deno.symlink(join(dir, "nowhere.mp4"), join(dir, "train/abseiling/d4.mp4"));
    const fifo = await new Deno.Command("mkfifo", { args: [join(dir, "train/abseiling/pipe.mp4")] })
      .output();
    assert(fifo.success, "mkfifo");
    const r = await readVideoLists([dir]);
    assertEquals(r.rows.map((x) => [x.id, x.split, x.label, x.source]), [
      ["e5", "train", "store", join(dir, "store/e5.mp4")],
      ["a1", "train", "abseiling", join(dir, "train/abseiling/a1.mp4")],
      ["b2", "train", "abseiling", join(dir, "train/abseiling/b2.mp4")],
    ]);
    assertEquals(r.issues.map(formatIssue), [
      `${join(dir, "train/abseiling/c3.mp4")}: a symlink to ${await Deno.realPath(
        join(outside, "secret.mp4"),
      )}, outside --videos ${dir}; copy the file in or point --videos at a folder that holds it`,
      `${join(dir, "train/abseiling/d4.mp4")}: symlink leads nowhere; refused`,
    ]);
    assertEquals(r.notes, [
      `${dir}: skipped 3 files: 2 not a video extension (train/abseiling/notes.txt, ` +
      "train/abseiling/sound.m4a); 1 not a regular file (train/abseiling/pipe.mp4)",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("readAnnotations: 150k rows in one file (a spread of them overflowed the stack at ~120k)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kinembed_ann_" });
  try {
    const { files } = await writeKineticsShapeCsvs(dir, { train: 150_000, val: 10, test: 10 });
    const set = await readAnnotations(files);
    assertEquals(set.issues, []);
    assertEquals(set.rows.length, 150_020);
    assertEquals(set.rows[149_999].split, "train");
    assertEquals(set.rows[150_019].split, "test");
    assertEquals(set.rows[150_019].label, null);
    const classes = new Set(set.rows.map((r) => r.label));
    assertEquals(classes.size, 700 + 1, "the 700 class names and the test rows' null");
    assert(classes.has("passing American football (not in game)"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("annotations: a label with NUL, a newline or another control character is refused with file:line", () => {
  const csv = [
    "label,youtube_id,time_start,time_end,split",
    "abseiling,aaaaaaaaaaa,0,10,train",
    "bad\u0000label,bbbbbbbbbbb,0,10,train",
    '"two\nlines",ccccccccccc,0,10,train',
    "tab\tbed,ddddddddddd,0,10,train",
    "del\u007f,eeeeeeeeeee,0,10,train",
  ].join("\n");
  const set = parseKineticsCsv(csv, "train.csv");
  assertEquals(set.rows.map((r) => r.id), ["aaaaaaaaaaa_000000_000010"]);
  assertEquals(
    set.issues.map(formatIssue),
    [
      'train.csv:3: label "bad\\u0000label" holds a control character (U+0000)',
      'train.csv:4: label "two\\nlines" holds a control character (U+000A)',
      'train.csv:6: label "tab\\tbed" holds a control character (U+0009)',
      'train.csv:7: label "del\\u007f" holds a control character (U+007F)',
    ],
  );
  const json = parseKineticsJson(
    JSON.stringify({
      fffffffffff: { annotations: { label: "x\ny", segment: [0, 10] }, subset: "train" },
    }),
    "k.json",
  );
  assertEquals(json.rows, []);
  assertMatch(
    formatIssue(json.issues[0]),
    /^k\.json:1: entry "fffffffffff": label "x\\ny" holds a control character \(U\+000A\)$/,
  );
  const list = parseVideoList('path,label,split\n/v/a.mp4,"x\u0001",train\n', "/v/list.csv");
  assertMatch(formatIssue(list.issues[0]), /list\.csv:2: label .* \(U\+0001\)/);
});

Deno.test("folderPlace: <split>/<class>/<file>, test/<file> unlabelled, <class>/<file> train, <file> test; others refused", () => {
  assertEquals(folderPlace("train/abseiling/a.mp4"), { split: "train", label: "abseiling" });
  assertEquals(folderPlace("Validate/air_drumming/a.mp4"), {
    split: "Validate",
    label: "air_drumming",
  });
  assertEquals(folderPlace("test/yoga/a.mp4"), { split: "test", label: "yoga" });
  assertEquals(folderPlace("test/a.mp4"), { split: "test", label: "" });
  assertEquals(folderPlace("yoga/a.mp4"), { split: "train", label: "yoga" });
  assertEquals(folderPlace("a.mp4"), { split: "test", label: "" });
  assertMatch(folderPlace("val/a.mp4") as string, /^val videos need a class folder \(val\/<class>/);
  assertMatch(folderPlace("train/yoga/x/a.mp4") as string, /^fits no layout/);
  assertMatch(folderPlace("x/yoga/a.mp4") as string, /^fits no layout/);
});

Deno.test("videoFolderList: a misfit is refused naming it and counting the others; a folder of no videos is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const p of ["train/yoga/a.mp4", "train/b.mp4", "val/c.mp4", "notes.txt"]) {
      await Deno.mkdir(join(dir, p, ".."), { recursive: true });
      await Deno.writeFile(join(dir, p), new Uint8Array([0]));
    }
    await nodeAssert.rejects(() => videoFolderList(dir), {
      name: "ConfigError",
      message: `--videos ${dir}: train/b.mp4: train videos need a class folder ` +
        "(train/<class>/b.mp4); only test videos may sit directly in their split's folder " +
        "(and 1 more)",
    });
    for (const p of ["train/b.mp4", "val/c.mp4", "train/yoga/a.mp4"]) {
      await Deno.remove(join(dir, p));
    }
    await nodeAssert.rejects(() => videoFolderList(dir), {
      name: "ConfigError",
      message: `--videos ${dir}: no video files (looked for .mp4 .webm .mkv .mov .avi .m4v; ` +
        "1 other files skipped)",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("videoFolderList with a class list: class folders are checked as written, unlabelled test videos need none", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const p of ["train/yoga/a.mp4", "test/b.mp4", "val/Yoga/c.mp4", "val/Yoga/d.mp4"]) {
      await Deno.mkdir(join(dir, p, ".."), { recursive: true });
      await Deno.writeFile(join(dir, p), new Uint8Array([0]));
    }
    const classes = { file: "classes.txt", names: new Set(["yoga", "abseiling"]) };
    await nodeAssert.rejects(() => videoFolderList(dir, classes), {
      name: "ConfigError",
      message: `--videos ${dir}: val/Yoga/c.mp4: class "Yoga" is not in --classes classes.txt ` +
        "(and 1 more videos); rename the folder or add the class",
    });
    await Deno.remove(join(dir, "val"), { recursive: true });
    const listing = await videoFolderList(dir, classes);
    assertEquals(listing.text.split("\n").length, 4);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("refuseEmptyInput: empty and header-only files and {} are refused; a header lacking a column is left to the readers", () => {
  const refused = (text: string, flag: string) => {
    try {
      refuseEmptyInput(text, "a.csv", flag);
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  };
  const header = "label,youtube_id,time_start,time_end,split";
  assertEquals(
    refused(`\uFEFF${header}\r\n\r\n`, "--annotations"),
    "--annotations a.csv: no rows (header only)",
  );
  assertEquals(refused("path,label,split\n", "--videos"), "--videos a.csv: no rows (header only)");
  assertEquals(
    refused(" \n", "--videos"),
    "--videos a.csv: empty file (expected a header line and rows)",
  );
  assertEquals(refused("{ }\n", "--annotations"), "--annotations a.csv: no entries ({})");
  assertEquals(refused("label,youtube_id,time_start,time_end\n", "--annotations"), null);
  assertEquals(refused(`${header}\nyoga,aaaaaaaaaa1,0,10,train\n`, "--annotations"), null);
  assertEquals(refused('{"aaaaaaaaaa1": {}}', "--annotations"), null);
});

Deno.test("rejected rows carry their place in the draw: the id they would have (? for an unreadable time), split and class", () => {
  const csv = "label,youtube_id,time_start,time_end,split\n" +
    "yoga,aaaaaaaaaa1,soon,10,train\n" +
    "yoga,aaaaaaaaaa2,0,10,trian\n" +
    "yoga,a/b,0,10,train\n" +
    "yoga,aaaaaaaaaa3,0,10\n" +
    "yoga,aaaaaaaaaa4,0,10,train\n" +
    "yoga,aaaaaaaaaa4,0,10,train\n";
  const { issues } = parseKineticsCsv(csv, "x.csv");
  assertEquals(issues.map((i) => [i.line, i.drawAs ?? null]), [
    [2, { id: "aaaaaaaaaa1_?_000010", split: "train", label: "yoga" }],
    [3, { id: "aaaaaaaaaa2_000000_000010", split: null, label: "yoga" }],
    [4, null],
    [5, null],
    [7, null],
  ]);
  const list = parseVideoList("path,label,split\n/v/clip one.mp4,,train\n", "l.csv");
  assertEquals(list.issues.map((i) => i.drawAs), [{
    id: list.issues[0].drawAs!.id,
    split: "train",
    label: null,
  }]);
  assertMatch(list.issues[0].drawAs!.id, /^clip_one_[0-9a-f]{8}$/);
  // a host refused until --allow-host names it: drawn where the row will be once allowed
  const hosts = parseVideoList(
    "path,label,split\nhttp://169.254.169.254/v/aaaaaaaaaa1_000001_000011.mp4,yoga,train\n",
    "h.csv",
  );
  assertMatch(hosts.issues[0].message, /^http:\/\/169\.254\.169\.254\/v\/\S+: /);
  assertEquals(hosts.issues[0].drawAs, {
    id: "aaaaaaaaaa1_000001_000011",
    split: "train",
    label: "yoga",
  });
});
