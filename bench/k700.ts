/**
 * `deno task bench k700`: a rehearsal of Kinetics-700-2020 at its real shape. It writes annotation
 * CSVs with the real row counts (or a scaled size) over the 700 real class names, CVDF-style path
 * lists and archives in the real layout (one `.tar.gz` per class for train and val, a few large
 * ones for test: 1,407 in all) served from 127.0.0.1, and tiny real H.264 videos (64×48, 2 s, a
 * handful of encoded files reused under many names) for `--media` of the rows; the other rows are
 * in no archive, as videos missing from a real download are, and a share of the media rows is
 * missing or broken too. It then runs the README's commands — download, run (sample → encode with
 * the tiny fixture model, shard), verify against the rehearsal's card, eval — and a no-op rerun of
 * each, recording wall time, CPU time and peak RSS per step.
 *
 *   deno task bench k700 --sizes 10000,100000,full --media 1000 --dir /tmp/k700 [--record]
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import {
  K700_2020_ROWS,
  kineticsClassNames,
  kineticsShapeRows,
  writeKineticsShapeCsvs,
} from "../fixtures/kinetics_shape.ts";
import { syntheticCard } from "../fixtures/synthetic_work_dir.ts";
import { TarWriter } from "../lib/tar/mod.ts";
import { machineLine, recordTable, timeTask } from "./results.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const SPLIT_WORDS = { train: "train", val: "val", test: "test" } as const;
type SplitName = keyof typeof SPLIT_WORDS;
const SPLIT_NAMES: SplitName[] = ["train", "val", "test"];
/** Test videos are spread over this many large archives, as CVDF's test set is. */
const TEST_ARCHIVES = 7;
/** Samples per tar, as published. */
const PER_SHARD = 10_000;

/** What happens to a row with media: kept, missing from every archive, or a broken file. */
function fate(i: number): "ok" | "missing" | "broken" {
  if (i % 67 === 13) return "missing"; // ~1.5%, as in a real download
  if (i % 197 === 7) return "broken"; // ~0.5%
  return "ok";
}

/** Rows per split for a total size: the real counts, or scaled to them. */
function rowsFor(size: number | "full"): Record<SplitName, number> {
  if (size === "full") return { ...K700_2020_ROWS };
  const total = K700_2020_ROWS.train + K700_2020_ROWS.val + K700_2020_ROWS.test;
  const val = Math.round((size * K700_2020_ROWS.val) / total);
  const test = Math.round((size * K700_2020_ROWS.test) / total);
  return { train: size - val - test, val, test };
}

async function ffmpeg(args: string[]): Promise<void> {
  const out = await new Deno.Command("ffmpeg", {
    args: ["-nostdin", "-hide_banner", "-v", "error", "-y", ...args],
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

/** A handful of tiny H.264 videos (different colours and lengths) and one broken file. */
async function makeMedia(dir: string): Promise<{ clips: Uint8Array[]; broken: Uint8Array }> {
  await Deno.mkdir(dir, { recursive: true });
  const clips: Uint8Array[] = [];
  const looks = ["testsrc", "color=c=red", "color=c=blue", "smptebars", "color=c=green"];
  for (const [i, look] of looks.entries()) {
    const path = join(dir, `clip${i}.mp4`);
    const d = 1 + (i % 3);
    await ffmpeg([
      "-f",
      "lavfi",
      "-i",
      `${look}${look.includes("=") ? ":" : "="}s=64x48:r=5:d=${d}`,
      "-c:v",
      "libx264",
      "-pix_fmt",
      "yuv420p",
      path,
    ]);
    clips.push(await Deno.readFile(path));
  }
  return { clips, broken: clips[0].slice(0, 300) };
}

/** Writes one `.tar.gz` of the given members. */
async function writeTarGz(path: string, members: [string, Uint8Array][]): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const gz = new CompressionStream("gzip");
  const piped = gz.readable.pipeTo(file.writable);
  const writer = gz.writable.getWriter();
  const tar = new TarWriter({ write: (b) => writer.write(b as Uint8Array<ArrayBuffer>) });
  for (const [name, data] of members) await tar.addFile(name, data);
  await tar.finish();
  await writer.close();
  await piped;
}

/** The rehearsal dataset on disk: CSVs, archives, lists, card; and what a run should find. */
interface Rehearsal {
  annotations: string[];
  lists: string[];
  card: string;
  rows: Record<SplitName, number>;
  media: Record<SplitName, { ok: number; missing: number; broken: number }>;
  archives: number;
}

async function buildRehearsal(
  dir: string,
  size: number | "full",
  media: number,
  serveUrl: string,
): Promise<Rehearsal> {
  const rows = rowsFor(size);
  const total = rows.train + rows.val + rows.test;
  const annDir = join(dir, "annotations");
  const { files } = await writeKineticsShapeCsvs(annDir, rows, 0);
  const classes = await kineticsClassNames();
  const { clips, broken } = await makeMedia(join(dir, "clips"));
  const stats = Object.fromEntries(
    SPLIT_NAMES.map((s) => [s, { ok: 0, missing: 0, broken: 0 }]),
  ) as Rehearsal["media"];
  // members per archive: train/val by class, test in TEST_ARCHIVES parts
  const members = new Map<string, [string, Uint8Array][]>();
  const archiveName = (split: SplitName, label: string, i: number) =>
    split === "test"
      ? `test/part_${i % TEST_ARCHIVES}.tar.gz`
      : `${split}/${label.replaceAll(" ", "_")}.tar.gz`;
  for (const split of SPLIT_NAMES) {
    for (const c of classes) if (split !== "test") members.set(archiveName(split, c, 0), []);
    if (split === "test") {
      for (let k = 0; k < TEST_ARCHIVES; k++) members.set(archiveName("test", "", k), []);
    }
    const withMedia = Math.round((media * rows[split]) / total);
    let i = 0;
    for (const r of kineticsShapeRows(split, withMedia, classes, 0)) {
      const f = fate(i);
      stats[split][f]++;
      if (f !== "missing") {
        const name = `${r.youtubeId}_${String(r.start).padStart(6, "0")}_${
          String(r.end).padStart(6, "0")
        }.mp4`;
        const dirName = split === "test" ? "test" : `${split}/${r.label}`;
        members.get(archiveName(split, r.label, i))!.push([
          `${dirName}/${name}`,
          f === "broken" ? broken : clips[i % clips.length],
        ]);
      }
      i++;
    }
  }
  const lists: string[] = [];
  for (const split of SPLIT_NAMES) {
    const names = [...members.keys()].filter((n) => n.startsWith(`${split}/`)).sort();
    await Deno.mkdir(join(dir, "archives", split), { recursive: true });
    for (const n of names) await writeTarGz(join(dir, "archives", n), members.get(n)!);
    const list = join(dir, `k700_2020_${split === "val" ? "val" : split}_path.txt`);
    await Deno.writeTextFile(
      list,
      names.map((n) => `${serveUrl}/${n.split("/").map(encodeURIComponent).join("/")}`).join("\n") +
        "\n",
    );
    lists.push(list);
  }
  const totals = Object.fromEntries(
    SPLIT_NAMES.map((s) => [s, {
      samples: stats[s].ok,
      tars: Math.ceil(stats[s].ok / PER_SHARD),
    }]),
  );
  const card = join(dir, "card.md");
  await Deno.writeTextFile(card, syntheticCard(totals));
  return { annotations: files, lists, card, rows, media: stats, archives: members.size };
}

/** Serves a folder on 127.0.0.1 (whole files; the download step needs nothing more here). */
function serve(root: string): { url: string; close: () => Promise<void> } {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    if (path.includes("..")) return new Response("no", { status: 400 });
    try {
      const file = await Deno.open(join(root, path));
      return new Response(file.readable);
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const addr = server.addr as Deno.NetAddr;
  return { url: `http://127.0.0.1:${addr.port}`, close: () => server.shutdown() };
}

/** One measured step. */
interface Measure {
  step: string;
  code: number;
  wall: number;
  cpu: number;
  rssMb: number;
  tail: string;
}

/** Runs `deno task <step> ...` under /usr/bin/time: wall, CPU (user+sys) and peak RSS. */
async function measure(step: string, args: string[], label = step): Promise<Measure> {
  const t = await timeTask(REPO, [step, ...args]);
  const lines = t.text.split("\n").filter((l) => l.trim() !== "");
  const r = { ...t, step: label, tail: lines.slice(-3).join(" | ") };
  const { wall } = r;
  console.log(
    `  ${label}: exit ${r.code}, ${wall.toFixed(1)} s wall, ${r.cpu.toFixed(1)} s CPU, ` +
      `${r.rssMb.toFixed(0)} MB peak — ${r.tail.slice(0, 300)}`,
  );
  return r;
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    sizes: { type: "string", default: "10000,100000,full" },
    media: { type: "string", default: "1000" },
    dir: { type: "string", default: "/tmp/kinembed_k700" },
    record: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  console.log(
    "usage: deno task bench k700 [--sizes 10000,100000,full] [--media N] [--dir DIR] [--record]",
  );
  Deno.exit(0);
}
const sizes = values.sizes.split(",").map((s) => s.trim() === "full" ? "full" as const : Number(s));
const media = Number(values.media);
const { vision, text } = await ensureFixtureModels(join(REPO, "fixtures", "models"), "tiny");
const table: string[] = [
  "| size (rows) | media videos | archives | step | exit | wall (s) | CPU (s) | peak RSS (MB) | CPU µs per row |",
  "|---|---:|---:|---|---:|---:|---:|---:|---:|",
];
for (const size of sizes) {
  const dir = join(values.dir, String(size));
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  const server = serve(join(dir, "archives"));
  try {
    const t0 = performance.now();
    const ds = await buildRehearsal(dir, size, media, server.url);
    const total = ds.rows.train + ds.rows.val + ds.rows.test;
    console.log(
      `size ${size}: ${total} rows, ${ds.archives} archives, media ${
        JSON.stringify(ds.media)
      }; built in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    const work = join(dir, "work");
    const download = [
      "--work",
      work,
      ...ds.annotations.flatMap((a) => ["--annotations", a]),
      ...ds.lists.flatMap((l) => ["--archives", l]),
      "--quiet",
    ];
    const run = ["--work", work, "--model", vision, "--providers", "cpu", "--quiet"];
    const verify = [
      "--work",
      work,
      "--card",
      ds.card,
      "--classes",
      join(REPO, "data", "kinetics700_classes.txt"),
      "--quiet",
    ];
    const evalArgs = ["--work", work, "--text-model", text, "--quiet"];
    const steps: [string, string[]][] = [
      ["download", download],
      ["run", run],
      ["verify", verify],
      ["eval", evalArgs],
    ];
    for (const [step, args] of steps) {
      for (const label of [step, `${step} (no-op rerun)`]) {
        const m = await measure(step, args, label);
        table.push(
          `| ${total} | ${media} | ${ds.archives} | ${label} | ${m.code} | ${m.wall.toFixed(1)} | ${
            m.cpu.toFixed(1)
          } | ${m.rssMb.toFixed(0)} | ${((m.cpu * 1e6) / total).toFixed(0)} |`,
        );
      }
    }
  } finally {
    await server.close();
  }
}
console.log("\n" + table.join("\n"));
if (values.record) {
  await recordTable(
    "Kinetics-700-2020 rehearsal: real row counts, 1,407 archives over 127.0.0.1",
    `deno task bench k700 ${Deno.args.join(" ")}`,
    table.join("\n"),
    "",
    machineLine(),
  );
}
