import { join } from "node:path";
import { FormatError, writeNpy } from "../base/mod.ts";
import { shard } from "../shard/mod.ts";
import { readTarMembers, TarWriter } from "../tar/mod.ts";
import { formatVerifyReport, verify, type VerifyReport } from "./verify.ts";
import { makeSyntheticWorkDir, syntheticCard } from "../../fixtures/synthetic_work_dir.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { repoPath, tempDir } from "../../tests/support/media.ts";

const CLASSES = ["abseiling", "acting in play", "adjusting glasses"];
// 7 train samples in 3 tars (keys 0-6), 3 val in 1 (7-9), 4 test in 2 (10-13)
const TOTALS = {
  train: { samples: 7, tars: 3 },
  val: { samples: 3, tars: 1 },
  test: { samples: 4, tars: 2 },
};

type Members = [string, Uint8Array][];

async function readMembers(path: string): Promise<Members> {
  const out: Members = [];
  for await (const m of readTarMembers(path)) out.push([m.name, m.data]);
  return out;
}

async function writeMembers(path: string, members: Members): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  const tar = new TarWriter({
    write: async (b) => {
      let off = 0;
      while (off < b.length) off += await f.write(b.subarray(off));
    },
  });
  for (const [n, d] of members) await tar.addFile(n, d);
  await tar.finish();
  f.close();
}

async function editShard(path: string, edit: (m: Members) => Members): Promise<void> {
  await writeMembers(path, edit(await readMembers(path)));
}

async function copyDir(from: string, to: string): Promise<string> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isFile) await Deno.copyFile(join(from, e.name), join(to, e.name));
  }
  return to;
}

function messages(r: VerifyReport): string[] {
  return r.problems.map((p) => {
    const where = [p.shard, p.key].filter(Boolean).join(" ");
    return where ? `${where}: ${p.message}` : p.message;
  });
}

function hasProblem(r: VerifyReport, re: RegExp): void {
  assert(
    messages(r).some((m) => re.test(m)),
    `no problem matches ${re}:\n${messages(r).join("\n")}`,
  );
  assert(!r.ok);
}

Deno.test("verify: passes a good set and names each kind of fault", async (t) => {
  const { dir, cleanup } = await tempDir();
  try {
    const { layout } = await makeSyntheticWorkDir({
      dir: join(dir, "w"),
      counts: { train: 7, val: 3, test: 4 },
      frames: (i, split) => (split === "test" && i === 1 ? 0 : 1 + (i % 3)),
      classes: CLASSES,
    });
    await shard({ work: layout.root, perShard: 3, quiet: true });
    const card = join(dir, "card.md");
    await Deno.writeTextFile(card, syntheticCard(TOTALS));
    const classes = join(dir, "classes.txt");
    await Deno.writeTextFile(classes, CLASSES.join("\n") + "\n");
    let n = 0;
    // a copy of the shard set; without its manifest.json unless asked (the checks of the tars'
    // own contents are shown without the sha256 check that would catch every edit anyway)
    const variant = async (keepManifestJson = false) => {
      const d = await copyDir(layout.shards, join(dir, `v${n++}`));
      if (!keepManifestJson) await Deno.remove(join(d, "manifest.json"));
      return d;
    };

    await t.step("a good set passes, with and without a manifest", async () => {
      const r = await verify({ work: layout.root, card, classes, quiet: true });
      assertEquals(messages(r), []);
      assert(r.ok && r.manifest);
      assertEquals(r.splits.map((s) => [s.split, s.expected, s.found, s.ok]), [
        ["train", TOTALS.train, TOTALS.train, true],
        ["val", TOTALS.val, TOTALS.val, true],
        ["test", TOTALS.test, TOTALS.test, true],
      ]);
      assertEquals(r.samples, 14);
      const text = formatVerifyReport(r);
      assert(/train\s+7\s+7\s+3\s+3\s+ok/.test(text), text);
      assert(text.includes("OK: everything matches"));
      const withJson = await verify({ shards: await variant(true), card, classes, quiet: true });
      assert(withJson.ok && withJson.manifest, messages(withJson).join("\n"));
      assertEquals(withJson.unchecked, []);
      const bare = await variant();
      const plain = await verify({ shards: bare, card, classes, quiet: true });
      assert(plain.ok && !plain.manifest, messages(plain).join("\n"));
      assertEquals(plain.unchecked.length, 1);
      const plainText = formatVerifyReport(plain);
      assert(
        plainText.includes(`not checked: no manifest.json in ${bare}: tar sizes and sha256`),
        plainText,
      );
      assert(plainText.includes("OK: everything checked matches"), plainText);
    });

    await t.step(
      "--shards with manifest.json: a changed byte in a .npy, a .json or the padding, or an appended block, is caught",
      async () => {
        const tar = "ds_000001.tar";
        const original = await Deno.readFile(join(layout.shards, tar));
        const members = await readMembers(join(layout.shards, tar));
        // where each kind of byte lies: header 512, then data padded to 512
        const offsets: Record<string, number> = {};
        let at = 0;
        for (const [name, data] of members) {
          const ext = name.slice(name.lastIndexOf("."));
          offsets[ext] ??= at + 512 + data.length - 1; // the member's last data byte
          if (data.length % 512 !== 0) offsets["padding"] ??= at + 512 + data.length;
          at += 512 + Math.ceil(data.length / 512) * 512;
        }
        const cases: [string, (b: Uint8Array) => Uint8Array][] = [
          [".npy", (b) => flip(b, offsets[".npy"])],
          [".json", (b) => flip(b, offsets[".json"])],
          ["padding", (b) => flip(b, offsets["padding"])],
          ["appended block", (b) => new Uint8Array([...b, ...new Uint8Array(512)])],
        ];
        for (const [what, change] of cases) {
          const d = await variant(true);
          await Deno.writeFile(join(d, tar), change(original.slice()));
          const r = await verify({ shards: d, card, classes, quiet: true });
          assert(!r.ok, `${what}: ${messages(r).join("\n")}`);
          hasProblem(r, new RegExp(`^${tar}: sha256 [0-9a-f]{64} differs from the manifest's`));
          if (what === "appended block") {
            hasProblem(
              r,
              new RegExp(
                `^${tar}: ${original.length + 512} bytes, the manifest says ${original.length}$`,
              ),
            );
          }
        }
      },
    );

    await t.step("a missing sample", async () => {
      const d = await variant();
      await editShard(
        join(d, "ds_000000.tar"),
        (m) => m.filter(([k]) => !k.startsWith("vid_000000001.")),
      );
      const r = await verify({ shards: d, card, quiet: true });
      hasProblem(
        r,
        /^ds_000000\.tar vid_000000001: missing sample: no vid_000000001 \(keys jump from vid_000000000 to vid_000000002\)$/,
      );
      hasProblem(r, /^split train: 6 samples, the card says 7$/);
    });

    await t.step("a duplicate key", async () => {
      const d = await variant();
      await editShard(
        join(d, "ds_000001.tar"),
        (m) => m.map(([k, v]) => [k.replace("vid_000000004.", "vid_000000003."), v]),
      );
      const r = await verify({ shards: d, card, quiet: true });
      hasProblem(r, /^ds_000001\.tar vid_000000003: duplicate key \(also in ds_000001\.tar\)$/);
    });

    await t.step("a sample missing its .json", async () => {
      const d = await variant();
      await editShard(
        join(d, "ds_000002.tar"),
        (m) => m.filter(([k]) => k !== "vid_000000006.json"),
      );
      const r = await verify({ shards: d, card, quiet: true });
      hasProblem(r, /^ds_000002\.tar vid_000000006: sample has no \.json member$/);
      assertEquals(messages(r).length, 1, messages(r).join("\n"));
    });

    await t.step("a wrong shape and a NaN", async () => {
      const d = await variant();
      await editShard(join(d, "ds_000000.tar"), (m) =>
        m.map(([k, v]) => {
          if (k === "vid_000000002.npy") {
            return [k, writeNpy({ dtype: "<f2", shape: [2, 256], data: new Uint16Array(512) })];
          }
          if (k === "vid_000000000.npy") {
            const b = v.slice();
            new Uint16Array(b.buffer, 128, 512)[7] = 0x7e00; // frame 0, dim 7
            return [k, b];
          }
          return [k, v];
        }));
      const r = await verify({ shards: d, card, quiet: true });
      hasProblem(r, /^ds_000000\.tar vid_000000002: \.npy shape \(2, 256\), want \(n, 512\)$/);
      hasProblem(r, /^ds_000000\.tar vid_000000000: \.npy has a NaN at frame 0, dim 7$/);
    });

    await t.step("a truncated tar", async () => {
      const d = await variant();
      const p = join(d, "ds_000004.tar");
      const bytes = await Deno.readFile(p);
      await Deno.writeFile(p, bytes.subarray(0, 512 * 9 + 700));
      const r = await verify({ shards: d, card, quiet: true });
      hasProblem(
        r,
        /^ds_000004\.tar vid_0000000\d\d: truncated tar: ends inside member vid_0000000\d\d\.\w+ at byte \d+/,
      );
      hasProblem(r, /^split test: \d samples, the card says 4$/);
    });

    await t.step("a split with one tar too many", async () => {
      const d = await variant();
      const last = await readMembers(join(d, "ds_000005.tar"));
      await writeMembers(
        join(d, "ds_000006.tar"),
        last.map(([k, v]) => [k.replace("vid_000000013.", "vid_000000014."), v]),
      );
      await Deno.writeTextFile(join(d, "splits.csv"), "ds_000006.tar,test\n", { append: true });
      const r = await verify({ shards: d, card, quiet: true });
      hasProblem(r, /^split test: 3 tars, the card says 2$/);
    });

    await t.step("a tar not in splits.csv, a missing tar, an unknown label", async () => {
      const d = await variant();
      await Deno.copyFile(join(d, "ds_000000.tar"), join(d, "extra.tar"));
      await Deno.remove(join(d, "ds_000003.tar"));
      await editShard(
        join(d, "ds_000000.tar"),
        (m) =>
          m.map((
            [k, v],
          ) => [k, k === "vid_000000001.txt" ? new TextEncoder().encode("juggling") : v]),
      );
      const r = await verify({ shards: d, card, classes, quiet: true });
      hasProblem(r, /^extra\.tar: not listed in splits\.csv$/);
      hasProblem(r, /^ds_000003\.tar: shard file is missing$/);
      hasProblem(r, /^ds_000000\.tar vid_000000001: label "juggling" is not in the class list$/);
    });

    await t.step("a shard that differs from the manifest's sha256", async () => {
      const p = join(layout.shards, "ds_000003.tar");
      const orig = await Deno.readFile(p);
      try {
        await editShard(
          p,
          (m) =>
            m.map(([k, v]) => [k, k.endsWith(".txt") ? new TextEncoder().encode(CLASSES[0]) : v]),
        );
        const r = await verify({ work: layout.root, card, classes, quiet: true });
        hasProblem(
          r,
          /^ds_000003\.tar: sha256 [0-9a-f]{64} differs from the manifest's [0-9a-f]{64}$/,
        );
      } finally {
        await Deno.writeFile(p, orig);
      }
    });

    await t.step("a card without a Data Splits section is refused", async () => {
      const bad = join(dir, "bad-card.md");
      await Deno.writeTextFile(bad, "# Card\n\n## Data Fields\n* vid.npy\n");
      const e = await assertRejects(
        () => verify({ work: layout.root, card: bad, quiet: true }),
        'no "Data Splits" section',
      );
      assert(e instanceof FormatError);
    });

    await t.step("the CLI exits 0, 1 and 2 and prints JSON on request", async () => {
      const run = async (...args: string[]) => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", repoPath("tasks", "verify.ts"), ...args],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const dec = new TextDecoder();
        return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
      };
      const good = await run("--work", layout.root, "--card", card, "--classes", classes, "--json");
      assertEquals(good.code, 0, good.stderr);
      const report = JSON.parse(good.stdout) as VerifyReport;
      assert(report.ok && report.samples === 14);
      const d = await variant();
      await Deno.remove(join(d, "ds_000001.tar"));
      const bad = await run("--shards", d, "--card", card, "--quiet");
      assertEquals(bad.code, 1, bad.stderr);
      assert(bad.stdout.includes("ds_000001.tar: shard file is missing"), bad.stdout);
      assert(/train\s+7\s+4\s+3\s+2\s+MISMATCH/.test(bad.stdout), bad.stdout);
      const usage = await run("--shards", d);
      assertEquals(usage.code, 2);
      assert(usage.stderr.includes("--card FILE is required"), usage.stderr);
    });
  } finally {
    await cleanup();
  }
});

/** The bytes with one bit flipped at `at`. */
function flip(bytes: Uint8Array, at: number): Uint8Array {
  bytes[at] ^= 0x01;
  return bytes;
}

Deno.test("verify: a report with thousands of problems prints the first 20 and a count", () => {
  const problems = Array.from({ length: 3000 }, (_, i) => ({
    shard: "ds_000000.tar",
    key: `vid_${String(i).padStart(9, "0")}`,
    message: "label not in the class list",
  }));
  const text = formatVerifyReport({
    ok: false,
    shardsDir: "/s",
    card: "card.md",
    manifest: false,
    unchecked: [],
    splits: [],
    problems,
    moreProblems: 500,
    shardsRead: 1,
    samples: 3000,
    bytes: 1,
    seconds: 1,
  });
  const lines = text.split("\n");
  assert(lines.length <= 30, `${lines.length} lines`);
  assert(text.includes("3500 problems:"), text);
  assert(text.includes("ds_000000.tar vid_000000019: label not in the class list"), text);
  assert(!text.includes("vid_000000020"), text);
  assert(text.includes("... and 3480 more (--json lists the first 10000"), text);
});
