/**
 * Where eval writes, through `deno task eval` / `deno task run` as a user types them: the reports
 * go to `--out` (or the work dir's `reports/`); the shards' dataset card (`shards/README.md`)
 * changes only with `--update-card` (or under `run`), keeping every section it had; an unlabelled
 * split is refused before any work; a card without published numbers is reported without them.
 */
import { join } from "node:path";
import { makeSyntheticWorkDir } from "../fixtures/synthetic_work_dir.ts";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import { taskLaunch } from "../lib/cli/mod.ts";
import { shard } from "../lib/shard/mod.ts";
import { cardEvalSection } from "../lib/webdataset/mod.ts";
import type { EvalReport } from "../lib/eval/mod.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { repoPath, tempDir } from "./support/media.ts";
import { denoTask, type TaskRun } from "./support/tasks.ts";
import { snapshotTree } from "./support/tree.ts";

const CLASSES = ["abseiling", "archery", "zumba"];

/** A work dir with shards (12 train, 6 val, 4 unlabelled test) and their card. */
async function shardedWork(dir: string): Promise<{ work: string; shards: string; card: string }> {
  const { layout } = await makeSyntheticWorkDir({
    dir: join(dir, "work"),
    counts: { train: 12, val: 6, test: 4 },
    classes: CLASSES,
  });
  await shard({ work: layout.root, quiet: true });
  return { work: layout.root, shards: layout.shards, card: join(layout.shards, "README.md") };
}

/** The card's eval part as its `### ` sections, heading → section text. */
async function cardSections(card: string): Promise<Map<string, string>> {
  const section = cardEvalSection(await Deno.readTextFile(card)) ?? "";
  const blocks = section.split(/^(?=### )/m).filter((b) => b.startsWith("### "));
  return new Map(blocks.map((b) => [b.split("\n", 1)[0], b.trim()]));
}

async function readReport(dir: string): Promise<EvalReport> {
  return JSON.parse(await Deno.readTextFile(join(dir, "eval.json")));
}

function ok(r: TaskRun, what: string): void {
  assertEquals(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
}

Deno.test("eval --shards S --out O: reports only in O, the card unchanged and said so; --update-card then puts the numbers in it without evaluating again", async () => {
  const { dir, cleanup } = await tempDir("kinembed-eval-out-");
  try {
    const { shards, card } = await shardedWork(dir);
    const out = join(dir, "elsewhere");
    const before = await snapshotTree(shards);
    const cardBefore = await Deno.readTextFile(card);
    const args = ["--shards", shards, "--out", out, "--linear-probe", "--providers", "cpu"];

    const first = await denoTask("eval", [...args, "--quiet"]);
    ok(first, "eval");
    assertEquals(await snapshotTree(shards), before, "nothing written beside the shards");
    assertEquals(await Deno.readTextFile(card), cardBefore);
    assert(
      first.stdout.includes(
        `card: ${card} not changed (add --update-card to put these numbers in it)`,
      ),
      first.stdout,
    );
    const report = await readReport(out);
    assertEquals(report.artefacts?.card, undefined);
    assertEquals(report.linearProbe?.count, 6);

    // the rerun asks only for the card: the reports are read back, not made again
    const second = await denoTask("eval", [...args, "--update-card"]);
    ok(second, "eval --update-card");
    assert(second.stderr.includes("eval: nothing to do"), second.stderr);
    assert(second.stdout.includes(`card: ${card} updated`), second.stdout);
    assertEquals((await readReport(out)).createdAt, report.createdAt);
    const lp = (await cardSections(card)).get("### Linear-probe Evaluation");
    assert(lp?.includes(`| Top-1 | ${report.linearProbe!.top1.toFixed(4)} |`), lp);
    // only the card changed beside the shards
    const after = await snapshotTree(shards);
    assertEquals(
      after.filter((l) => !l.startsWith("/README.md ")),
      before.filter((l) => !l.startsWith("/README.md ")),
    );

    // the launcher grants the card's write only with --update-card
    const readme = (flags: string[]) =>
      flags.some((f) => f.startsWith("--allow-write=") && f.includes(card));
    assert(!readme((await taskLaunch("eval", args)).flags), "no write of the card");
    assert(readme((await taskLaunch("eval", [...args, "--update-card"])).flags));
  } finally {
    await cleanup();
  }
});

Deno.test("eval --update-card keeps every section the card had: a probe-only eval keeps the zero-shot numbers, a zero-shot-only eval the probe's", async () => {
  const { dir, cleanup } = await tempDir("kinembed-eval-out-");
  try {
    const { shards, card } = await shardedWork(dir);
    const { text } = await ensureFixtureModels(repoPath("fixtures", "models"), "tiny");
    const classes = join(dir, "classes.txt");
    await Deno.writeTextFile(classes, CLASSES.join("\n") + "\n");
    const templates = join(dir, "templates.txt");
    await Deno.writeTextFile(templates, "a video of {}.\n");
    const zeroShot = [
      "--zero-shot",
      "--text-model",
      text,
      "--classes",
      classes,
      "--templates",
      templates,
    ];
    const common = ["--shards", shards, "--providers", "cpu", "--update-card", "--quiet"];
    const ZS = "### Zero-shot Evaluation", LP = "### Linear-probe Evaluation";

    ok(await denoTask("eval", [...common, "--out", join(dir, "zs"), ...zeroShot]), "zero-shot");
    const zs = (await readReport(join(dir, "zs"))).zeroShot!;
    const first = await cardSections(card);
    assertEquals([...first.keys()], [ZS]);
    assert(first.get(ZS)!.includes(`| Top-1 | ${zs.top1.toFixed(4)} |`), first.get(ZS));

    ok(await denoTask("eval", [...common, "--out", join(dir, "lp"), "--linear-probe"]), "probe");
    const lp = (await readReport(join(dir, "lp"))).linearProbe!;
    const second = await cardSections(card);
    assertEquals([...second.keys()], [ZS, LP]);
    assertEquals(second.get(ZS), first.get(ZS), "the zero-shot section is kept as it was");
    assert(second.get(LP)!.includes(`| Top-1 | ${lp.top1.toFixed(4)} |`), second.get(LP));

    // zero-shot again (evaluated anew): its section is replaced, the probe's kept
    const again = await denoTask("eval", [
      ...common,
      "--out",
      join(dir, "zs"),
      ...zeroShot,
      "--force",
    ]);
    ok(again, "zero-shot again");
    const third = await cardSections(card);
    assertEquals([...third.keys()], [ZS, LP]);
    assertEquals(third.get(LP), second.get(LP), "the probe section is kept as it was");
    const createdAt = (await readReport(join(dir, "zs"))).createdAt;
    assert(third.get(ZS)!.includes(createdAt), third.get(ZS));
  } finally {
    await cleanup();
  }
});

Deno.test("eval --split test on an unlabelled split: one line, exit 2, nothing written", async () => {
  const { dir, cleanup } = await tempDir("kinembed-eval-out-");
  try {
    const { shards, card } = await shardedWork(dir);
    const before = await snapshotTree(shards);
    const out = join(dir, "reports");
    for (const extra of [[], ["--update-card"]]) {
      const r = await denoTask("eval", [
        "--shards",
        shards,
        "--out",
        out,
        "--split",
        "test",
        "--providers",
        "cpu",
        "--quiet",
        ...extra,
      ]);
      assertEquals(r.code, 2, r.stderr + r.stdout);
      assertEquals(
        r.stderr.trim(),
        "kinembed eval: split test has no labels (0 of 4 samples labelled); evaluate a " +
          "labelled split (--split val)",
      );
      assertEquals(await Deno.stat(out).catch(() => null), null, "no reports folder");
      assertEquals(await snapshotTree(shards), before);
    }
    assert((await Deno.readTextFile(card)).includes("Not evaluated yet"));
  } finally {
    await cleanup();
  }
});

Deno.test("a card without published numbers: eval reports without the comparison; run --card C --eval finishes (exit 0) and fills the shards' card", async () => {
  const { dir, cleanup } = await tempDir("kinembed-eval-out-");
  try {
    const { work, shards, card } = await shardedWork(dir);
    const splits = "### Data Splits\n\n* Train - 12 samples | 1 tar's\n" +
      "* Validation - 6 samples | 1 tar's\n* Test - 4 samples | 1 tar's\n";
    const table = "\n| | Accuracy |\n| --- | --- |\n| Top-1 | n/a |\n| Top-5 | n/a |\n" +
      "| mean(Top1, Top5) | n/a |\n";
    // a new dataset's card: the tables are there, the numbers not yet (as in the demo's card)
    const pending = join(dir, "pending.md");
    await Deno.writeTextFile(
      pending,
      `# A new dataset\n\n${splits}\n### Zero-shot Evaluation\n${table}\n` +
        `### Linear-probe Evaluation\n${table}`,
    );
    const totalsOnly = join(dir, "totals.md");
    await Deno.writeTextFile(totalsOnly, `# A new dataset\n\n${splits}`);
    for (const c of [pending, totalsOnly]) {
      const out = join(dir, c === pending ? "r1" : "r2");
      const r = await denoTask("eval", [
        "--shards",
        shards,
        "--out",
        out,
        "--card",
        c,
        "--providers",
        "cpu",
        "--quiet",
      ]);
      ok(r, `eval --card ${c}`);
      const md = await Deno.readTextFile(join(out, "eval.md"));
      assert(md.includes(`no published numbers to compare with in \`${c}\``), md);
      assert(
        md.includes(`No published linear-probe numbers to compare with: ${c} has none.`),
        md,
      );
      assert(!md.includes("| Difference |"), md);
      assertEquals((await readReport(out)).published, { source: c });
    }

    const run = await denoTask("run", [
      "--work",
      work,
      "--model",
      repoPath("fixtures", "models", "vision_tiny.onnx"),
      "--providers",
      "cpu",
      "--card",
      pending,
      "--eval",
      "--quiet",
    ]);
    ok(run, "run --card --eval");
    assert(run.stdout.includes(`reports in ${join(work, "reports", "eval.md")}`), run.stdout);
    // run owns its work dir: the shards' card gets the numbers
    const lp = (await readReport(join(work, "reports"))).linearProbe!;
    const section = (await cardSections(card)).get("### Linear-probe Evaluation");
    assert(section?.includes(`| Top-1 | ${lp.top1.toFixed(4)} |`), section);
  } finally {
    await cleanup();
  }
});

Deno.test("eval --update-card where it may not write: a set without kinembed's card is refused before any work; an unwritable card keeps the reports", async () => {
  const { dir, cleanup } = await tempDir("kinembed-eval-out-");
  try {
    const { shards, card } = await shardedWork(dir);
    const args = ["--shards", shards, "--linear-probe", "--providers", "cpu", "--update-card"];
    // a published set's own card: no markers, so eval has no place for its numbers
    const own = await Deno.readTextFile(card);
    await Deno.writeTextFile(card, "# A published set's card\n");
    const out = join(dir, "reports");
    const refused = await denoTask("eval", [...args, "--out", out, "--quiet"]);
    assertEquals(refused.code, 2, refused.stderr + refused.stdout);
    assertEquals(
      refused.stderr.trim(),
      `kinembed eval: --update-card: ${card} is not a card kinembed wrote (no ` +
        "<!-- kinembed eval: start --> marker); leave out --update-card (the reports do not need it)",
    );
    assertEquals(await Deno.stat(out).catch(() => null), null, "no reports folder");
    assertEquals(await Deno.readTextFile(card), "# A published set's card\n");
    await Deno.remove(card);
    const missing = await denoTask("eval", [...args, "--out", out, "--quiet"]);
    assertEquals(missing.code, 2, missing.stderr + missing.stdout);
    assert(missing.stderr.includes(`--update-card: ${card} not found;`), missing.stderr);

    // the card where the task may not write it: one line, the reports kept
    await Deno.writeTextFile(card, own);
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        `--allow-write=${out}`,
        "--allow-ffi",
        "--allow-env",
        "--allow-sys",
        repoPath("tasks", "eval.ts"),
        ...args,
        "--out",
        out,
        "--quiet",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(r.stderr);
    assertEquals(r.code, 2, stderr);
    assertEquals(stderr.trim().split("\n").length, 1, stderr);
    assert(
      stderr.startsWith(`kinembed eval: --update-card: cannot write ${card} (`) &&
        stderr.trim().endsWith(`; the reports are in ${out}`),
      stderr,
    );
    assertEquals((await readReport(out)).linearProbe?.count, 6);
    assertEquals(await Deno.readTextFile(card), own);
  } finally {
    await cleanup();
  }
});
