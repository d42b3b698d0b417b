import { join } from "node:path";
import { assertSameShardSet, shardSetBytes } from "../../tests/support/shard_bytes.ts";
import { buildFixtureDataset, type FixtureDataset } from "../../fixtures/dataset_builder.ts";
import { ensureFixtureModels } from "../../fixtures/make_models.ts";
import { WorkDirBusyError } from "../base/mod.ts";
import { lockWorkDir, Manifest } from "../core/mod.ts";
import { merge, MergeError } from "./merge.ts";
import { verify } from "../verify/mod.ts";
import { holdWorkerRun, workerDir } from "./worker.ts";
import { SAME_BYTES_SENTENCE } from "./hub_card.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { repoPath, tempDir } from "../../tests/support/media.ts";

const decoder = new TextDecoder();
/** An annotation row whose video no archive holds: it fails to download. */
const MISSING_ID = "ZZmissingZZ_000000_000010";

interface Setup {
  dataset: FixtureDataset;
  model: string;
  /** val.csv plus the missing row. */
  valCsv: string;
  /** The card with val one sample larger. */
  card: string;
}

function runArgs(s: Setup, work: string, worker: string, extra: string[] = []): string[] {
  const at = (p: string) => join(s.dataset.root, p);
  return [
    "run",
    "-A",
    repoPath("tasks", "run.ts"),
    "--work",
    work,
    "--worker",
    worker,
    "--annotations",
    at(s.dataset.annotations.train),
    "--annotations",
    s.valCsv,
    "--annotations",
    at(s.dataset.annotations.test),
    ...[s.dataset.lists.train, s.dataset.lists.val, s.dataset.lists.test].flatMap((l) => [
      "--archives",
      at(l),
    ]),
    "--base-url",
    s.dataset.root,
    "--model",
    s.model,
    "--providers",
    "cpu",
    "--per-shard",
    "3",
    "--jobs",
    "1",
    // small batches, so a worker killed during encode has some videos done and some not
    "--batch",
    "4",
    "--quiet",
    ...extra,
  ];
}

function startWorker(s: Setup, work: string, worker: string, extra: string[] = []) {
  return new Deno.Command(Deno.execPath(), {
    args: runArgs(s, work, worker, extra),
    cwd: repoPath(),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function runWorker(s: Setup, work: string, worker: string, extra: string[] = []) {
  const out = await startWorker(s, work, worker, extra).output();
  const text = decoder.decode(out.stdout) + decoder.decode(out.stderr);
  assertEquals(out.code, 0, `worker ${worker}:\n${text}`);
  return text;
}

async function assertVerifies(s: Setup, work: string) {
  const r = await verify({
    work,
    card: s.card,
    classes: join(s.dataset.root, s.dataset.classList),
    quiet: true,
  });
  assert(r.ok, JSON.stringify(r.problems.slice(0, 5)));
  assertEquals(r.samples, 33);
  assert(r.manifest, "sha256 checked against the merged manifest");
  // the Hub card merge wrote beside the tars states the same totals
  const own = await verify({ work, card: join(work, "shards", "README.md"), quiet: true });
  assert(own.ok, JSON.stringify(own.splits));
}

async function mergeCli(
  work: string,
  extra: string[] = [],
): Promise<{ code: number; text: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", repoPath("tasks", "merge.ts"), "--work", work, "--quiet", ...extra],
    cwd: repoPath(),
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, text: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

Deno.test("scale-out: 4 workers (one killed and rerun) + merge give the 1-worker run's shards byte for byte; merge refuses missing and doubled shards", async (t) => {
  const { dir, cleanup } = await tempDir();
  try {
    const dataset = await buildFixtureDataset(join(dir, "ds"), {
      perClass: { train: 2, val: 1, test: 1 },
      durations: [1, 2],
      realClip: false,
      perShard: 3,
      quiet: true,
    });
    const models = await ensureFixtureModels(repoPath("fixtures", "models"), "tiny");
    const valCsv = join(dir, "val_with_missing.csv");
    const labelled = dataset.classes[0];
    await Deno.writeTextFile(
      valCsv,
      (await Deno.readTextFile(join(dataset.root, dataset.annotations.val))) +
        `${labelled},ZZmissingZZ,0,10,validate\n`,
    );
    const cardText = await Deno.readTextFile(join(dataset.root, dataset.card));
    const card = join(dir, "card.md");
    const val = dataset.splits.val;
    const bigger = cardText.replace(
      `* Validation - ${val.samples} samples | ${val.tars} tar's`,
      `* Validation - ${val.samples + 1} samples | ${Math.ceil((val.samples + 1) / 3)} tar's`,
    );
    assert(bigger !== cardText, "the card's validation line");
    await Deno.writeTextFile(card, bigger);
    const s: Setup = { dataset, model: models.vision, valCsv, card };
    // 16 train, 9 val, 8 test in threes: 6 + 3 + 3 shards, 3 per worker
    assertEquals(dataset.splits.train.samples + val.samples + 1 + dataset.splits.test.samples, 33);

    const single = join(dir, "single");
    let reference = new Map<string, Uint8Array>();
    await t.step(
      "--worker 0/1 then merge: verify passes; the failed video is a sample with 0 frames",
      async () => {
        const out = await runWorker(s, single, "0/1");
        assert(out.includes("1 failed videos packed with 0 frames"), out);
        const m = await mergeCli(single);
        assertEquals(m.code, 0, m.text);
        assert(/val\s+9\s+3\s+1/.test(m.text), m.text);
        await assertVerifies(s, single);
        reference = await shardSetBytes(single);
        assertEquals(reference.size, 12);
        // an independent reader finds the empty sample with its metadata and label
        const py = await new Deno.Command("/usr/bin/python3", {
          args: [
            "-c",
            `import glob, io, json, sys, tarfile, numpy as np
found = []
for f in sorted(glob.glob(sys.argv[1] + "/*.tar")):
    with tarfile.open(f) as t:
        m = {x.name: t.extractfile(x).read() for x in t.getmembers()}
    for name, data in m.items():
        if name.endswith(".npy"):
            a = np.load(io.BytesIO(data))
            if a.shape[0] == 0:
                key = name[:-4]
                found.append([a.shape[1], str(a.dtype), json.loads(m[key + ".json"])["videoID"], m[key + ".txt"].decode()])
print(json.dumps(found))`,
            join(single, "shards"),
          ],
          stdout: "piped",
        }).output();
        assertEquals(JSON.parse(decoder.decode(py.stdout)), [[
          512,
          "float16",
          "ZZmissingZZ",
          labelled,
        ]]);
        const manifest = JSON.parse(
          await Deno.readTextFile(join(single, "shards", "manifest.json")),
        );
        assertEquals(manifest.plan.splits.val.empty, 1);
        assertEquals(manifest.splits.val.download.failed, 1);
      },
    );

    const four = join(dir, "four");
    await t.step(
      "4 workers in parallel (one with a local work dir), merge: byte-identical, verify passes",
      async () => {
        const procs = [0, 1, 2, 3].map((k) =>
          startWorker(
            s,
            four,
            `${k}/4`,
            k === 2 ? ["--worker-work", join(dir, "node-local", "w2")] : [],
          ).output()
        );
        for (const [k, out] of (await Promise.all(procs)).entries()) {
          assertEquals(out.code, 0, `worker ${k}: ${decoder.decode(out.stderr)}`);
          assert(decoder.decode(out.stdout).includes(`worker ${k}/4: 3 shards`));
        }
        // worker 2 worked elsewhere: only its manifest's copy is under the shared dir
        assert(!(await Deno.stat(join(workerDir(four, 2), "emb")).then(() => true, () => false)));
        const r = await merge({ work: four, quiet: true });
        assertEquals(r.workers, 4);
        assertEquals(r.splits.val, { samples: 9, tars: 3, failed: 0, notEncoded: 0, empty: 1 });
        assertEquals(r.failures.map((f) => f.id), [MISSING_ID]);
        await assertSameShardSet(four, reference);
        // which files equal one worker's, as docs/cluster.md and the card say: the tars and
        // splits.csv; manifest.json and the card record the worker layout
        const text = (w: string, f: string) => Deno.readTextFile(join(w, "shards", f));
        assertEquals(await text(four, "splits.csv"), await text(single, "splits.csv"));
        const workers = async (w: string) =>
          JSON.parse(await text(w, "manifest.json")).config.workers;
        assertEquals([await workers(single), await workers(four)], [1, 4]);
        for (const w of [single, four]) {
          assert((await text(w, "README.md")).includes(SAME_BYTES_SENTENCE), w);
        }
        await assertVerifies(s, four);
      },
    );

    await t.step(
      "a worker killed mid-way: merge names its shards; its rerun redoes only the rest; identical again",
      async () => {
        const work = join(dir, "killed");
        const others = [0, 2, 3].map((k) => startWorker(s, work, `${k}/4`).output());
        const victim = startWorker(s, work, "1/4");
        const db = join(workerDir(work, 1), "manifest.db");
        const encoded = () => {
          const m = Manifest.open(db, { readOnly: true });
          try {
            return {
              done: m.steps.counts("encode").done,
              downloaded: m.steps.counts("download").done,
            };
          } finally {
            m.close();
          }
        };
        const deadline = Date.now() + 60_000;
        // the file may exist before its tables do
        const done = () => {
          try {
            return encoded().done;
          } catch {
            return 0;
          }
        };
        while (done() < 2) {
          assert(Date.now() < deadline, "worker 1 never encoded a video");
          await new Promise((r) => setTimeout(r, 20));
        }
        victim.kill("SIGKILL");
        const status = await victim.status;
        assertEquals(status.signal, "SIGKILL", "killed before it finished");
        await victim.stdout.cancel();
        await victim.stderr.cancel();
        for (const out of await Promise.all(others)) assertEquals(out.code, 0);
        const before = encoded();
        assert(before.done < before.downloaded, `killed mid-way: ${JSON.stringify(before)}`);

        const refused = await mergeCli(work);
        assertEquals(refused.code, 2, refused.text);
        for (const f of ["ds_000001.tar", "ds_000005.tar", "ds_000009.tar"]) {
          assert(refused.text.includes(`${f}: missing: worker 1/4`), refused.text);
        }
        assert(!(await Deno.stat(join(work, "manifest.db")).then(() => true, () => false)));

        const out = await runWorker(s, work, "1/4");
        const m = /sample → encode: (\d+) videos, .*\((\d+) already done/.exec(out);
        assert(m, out);
        assertEquals(Number(m[2]), before.done, out);
        assertEquals(Number(m[1]) + before.done, before.downloaded, out);
        assertEquals((await merge({ work, quiet: true })).workers, 4);
        await assertSameShardSet(work, reference);
        await assertVerifies(s, work);
      },
    );

    await t.step(
      "merge refuses, naming the shard: doubled, altered, missing file, missing worker, worker still running",
      async () => {
        // worker 1 also recorded worker 0's ds_000000.tar
        const m0 = Manifest.open(join(workerDir(four, 0), "manifest.db"));
        const row0 = m0.shards.all().find((r) => r.file === "ds_000000.tar")!;
        m0.close();
        const m1 = Manifest.open(join(workerDir(four, 1), "manifest.db"));
        const rows1 = m1.shards.all();
        m1.shards.put(row0);
        m1.close();
        const e = await assertRejects(
          () => merge({ work: four, quiet: true }),
          "ds_000000.tar: produced by workers 0 and 1",
        );
        assert(e instanceof MergeError);
        const back = Manifest.open(join(workerDir(four, 1), "manifest.db"));
        back.shards.replace(rows1);
        back.close();

        // a shard file another run overwrote (same size, other bytes)
        const path = join(four, "shards", "ds_000006.tar");
        const good = await Deno.readFile(path);
        const bad = good.slice();
        bad[700] ^= 0xff;
        await Deno.writeFile(path, bad);
        await assertRejects(
          () => merge({ work: four, quiet: true }),
          /ds_000006\.tar: the file .* is not the one worker 2 recorded/,
        );
        await Deno.writeFile(path, good);

        // a worker that never ran
        await Deno.rename(workerDir(four, 3), join(dir, "w3-away"));
        await assertRejects(
          () => merge({ work: four, quiet: true }),
          "ds_000003.tar: missing: worker 3/4 has not run",
        );
        // --check (what submit.sh --resume asks) refuses the same way and writes no set file
        const files = ["splits.csv", "manifest.json"].map((f) => join(four, "shards", f));
        const mtimes = async () =>
          await Promise.all(
            files.map((f) => Deno.stat(f).then((i) => i.mtime?.getTime(), () => 0)),
          );
        const before = await mtimes();
        const checked = await mergeCli(four, ["--check"]);
        assertEquals(checked.code, 2, checked.text);
        assert(
          checked.text.includes("ds_000003.tar: missing: worker 3/4 has not run"),
          checked.text,
        );
        assertEquals(await mtimes(), before);
        await Deno.rename(join(dir, "w3-away"), workerDir(four, 3));

        // a worker still running
        const held = await lockWorkDir(workerDir(four, 1), { wait: false });
        const busy = await assertRejects(
          () => merge({ work: four, quiet: true }),
          "worker 1 is still running",
        );
        assert(busy instanceof WorkDirBusyError);
        held.release();
        // between two of its steps a worker holds only worker.lock: still running
        const running = await holdWorkerRun(workerDir(four, 2), "worker 2/4");
        await assertRejects(() => merge({ work: four, quiet: true }), "worker 2 is still running");
        running.release();

        // a shard file deleted: named, and its owner's rerun writes it (and only it) again
        await Deno.remove(join(four, "shards", "ds_000011.tar"));
        await assertRejects(
          () => merge({ work: four, quiet: true }),
          "ds_000011.tar: recorded by worker 3 but not in",
        );
        const out = await runWorker(s, four, "3/4");
        assert(out.includes("(1 written, 2 kept)"), out);
        const ok = await mergeCli(four, ["--check"]);
        assertEquals(ok.code, 0, ok.text);
        assert(ok.text.includes("every planned shard of the 4 workers is there"), ok.text);
        await merge({ work: four, quiet: true });
        await assertSameShardSet(four, reference);
        await assertVerifies(s, four);
      },
    );
  } finally {
    await cleanup();
  }
});

Deno.test("merge refuses a work dir without worker manifests, and one whose own manifest is a single run's", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    await assertRejects(() => merge({ work: dir, quiet: true }), "no worker manifests under");
    const top = Manifest.open(join(dir, "manifest.db"));
    top.videos.add([{
      id: "abc_000000_000010",
      split: "train",
      label: "abseiling",
      youtubeId: "abc",
      timeStart: 0,
      timeEnd: 10,
      source: null,
    }]);
    top.close();
    await Deno.mkdir(workerDir(dir, 0), { recursive: true });
    const w = Manifest.open(join(workerDir(dir, 0), "manifest.db"));
    w.applyConfig({ shard_seed: 0, per_shard: 3, shard_plan: "inputs", worker: 0, workers: 1 });
    w.close();
    await assertRejects(() => merge({ work: dir, quiet: true }), "holds a single run's manifest");
  } finally {
    await cleanup();
  }
});
