/**
 * Every task's command line: its flags and what each path flag gives it access to. The task
 * parses its arguments with these specs and checks its inputs against them before any work
 * (`preflight.ts`); the launcher reads the same specs to grant exactly that access
 * (`task_permissions.ts`), so the two cannot disagree on a flag.
 * @module
 */
import { EXISTING_WORK_FLAG, type FlagSpec, type TaskSpec, WORK_FLAG } from "./flag_spec.ts";
import {
  classListFlag,
  DOWNLOAD_INPUT_FLAGS,
  ENCODE_FLAGS,
  SAMPLE_FLAGS,
  SUBSET_FLAGS,
  TEXT_MODEL_FLAG,
} from "./step_flags.ts";
import { CARD_SOURCE_FLAGS } from "./card_flags.ts";
import { CLIP_SIZE } from "../base/mod.ts";
import { RUN_SETTINGS } from "../core/mod.ts";
import { DEFAULT_PER_SHARD } from "../shard/mod.ts";
import { DEFAULT_PART_SIZE } from "../export/mod.ts";
import { KNOWN_MODELS, MODEL_VARIANTS } from "../model/mod.ts";
import { ONNXRUNTIME_VERSION } from "../onnx/mod.ts";
import { PROVIDER_PACKAGE, PROVIDER_PACKAGE_VERSION } from "../gpu/mod.ts";

const QUIET_PROGRESS = { type: "boolean", help: "no progress output" } as const;
const QUIET_LINES = { type: "boolean", help: "no progress lines" } as const;

/** `kinembed download`. */
export const DOWNLOAD_TASK: TaskSpec = {
  name: "download",
  summary: "Read Kinetics annotations and fetch + extract the CVDF archives (or link/fetch the " +
    "files of a plain video list) into <work>/videos/, recording every video in the manifest.",
  flags: {
    work: WORK_FLAG,
    ...DOWNLOAD_INPUT_FLAGS,
    checksums: {
      type: "string",
      arg: "FILE",
      access: "read-file",
      help: "sha256sum-style file to check archives",
    },
    ...SUBSET_FLAGS,
    jobs: { type: "string", arg: "N", default: "4", help: "transfers at once" },
    timeout: { type: "string", arg: "SECONDS", default: "30", help: "connect and idle timeout" },
    retries: { type: "string", arg: "N", default: "5", help: "retries of a failed transfer" },
    "retry-delay": {
      type: "string",
      arg: "SECONDS",
      default: "1",
      help: "backoff after the first failure (doubles each time, with jitter)",
    },
    quiet: QUIET_PROGRESS,
  },
};

/** The switch sample and encode share: videos that failed this step are tried again. */
const RETRY_FAILED: FlagSpec = { type: "boolean", help: "try videos that failed before again" };

/** `kinembed sample`. */
export const SAMPLE_TASK: TaskSpec = {
  name: "sample",
  summary:
    `Decode every downloaded video at --fps with CLIP's preprocessing (short side ${CLIP_SIZE} with ` +
    `Pillow's bicubic, centre crop) into frames/<id>.npy, uint8 (n,${CLIP_SIZE},${CLIP_SIZE},3).`,
  flags: {
    work: EXISTING_WORK_FLAG,
    ...SAMPLE_FLAGS,
    "retry-failed": RETRY_FAILED,
    quiet: QUIET_PROGRESS,
  },
};

/** `kinembed encode`. */
export const ENCODE_TASK: TaskSpec = {
  name: "encode",
  summary:
    "Embed every sampled video's frames with a CLIP image encoder on ONNX Runtime into emb/<id>.npy ((n,512), float16 by default).",
  flags: {
    work: EXISTING_WORK_FLAG,
    ...ENCODE_FLAGS,
    "retry-failed": RETRY_FAILED,
    quiet: QUIET_PROGRESS,
  },
};

/** `kinembed shard`. */
export const SHARD_TASK: TaskSpec = {
  name: "shard",
  summary: "Pack every encoded video into WebDataset tars (shards/ds_%06d.tar, splits.csv, " +
    "manifest.json): per split a seeded shuffle, keys vid_%09d, byte-identical on rerun.",
  flags: {
    work: EXISTING_WORK_FLAG,
    seed: {
      type: "string",
      arg: "N",
      default: String(RUN_SETTINGS.shardSeed.default),
      help: "shuffle seed (0..4294967295)",
    },
    "per-shard": {
      type: "string",
      arg: "N",
      default: String(DEFAULT_PER_SHARD),
      help: "samples per tar",
    },
    ...CARD_SOURCE_FLAGS,
    thumbnails: {
      type: "boolean",
      help: "add each video's thumbnail (made by sample --thumbnails) as <key>.jpg",
    },
    quiet: QUIET_LINES,
  },
};

/** `kinembed verify`. */
export const VERIFY_TASK: TaskSpec = {
  name: "verify",
  summary: "Check WebDataset shards against a dataset card's Data Splits: per split samples and " +
    "tars, keys unique and contiguous, complete samples, .npy shape (n,512) float and finite, " +
    ".json fields, labels, sha256 against the manifest. Writes nothing.",
  flags: {
    work: {
      type: "string",
      arg: "DIR",
      access: "read-work",
      help: "work dir: checks DIR/shards and each shard's sha256 against DIR/manifest.db",
    },
    shards: {
      type: "string",
      arg: "DIR",
      access: "read-folder",
      help: "a directory of shards with its splits.csv",
    },
    card: {
      type: "string",
      arg: "FILE",
      access: "read-file",
      content: "card",
      help: "dataset card with a Data Splits section",
    },
    classes: classListFlag("class list, one per line: labels must be in it"),
    dim: {
      type: "string",
      arg: "N",
      help: "embedding width each .npy must have (default: the work dir's model's, else 512)",
    },
    json: { type: "boolean", help: "print the report as one JSON object on stdout" },
    quiet: QUIET_LINES,
  },
};

/** `kinembed eval`. */
export const EVAL_TASK: TaskSpec = {
  name: "eval",
  summary: "Zero-shot and linear-probe accuracy as the CLIP-Kinetics700 card computed them " +
    "(zero-shot: mean of per-frame softmax(100·x·W) over 28 prompt templates; probe: centre " +
    "frame, multinomial logistic regression, L2, C=0.316, L-BFGS, fit on train). Writes " +
    "eval.json, eval.md and eval.html. Without --zero-shot or --linear-probe, runs both where " +
    "possible (zero-shot needs --text-model).",
  flags: {
    work: {
      type: "string",
      arg: "DIR",
      access: "read-work",
      help: "work dir: shards from DIR/shards, reports into DIR/reports (default work)",
    },
    shards: {
      type: "string",
      arg: "DIR",
      access: "read-folder",
      help: "a directory of shards with its splits.csv (e.g. the published set), instead of --work",
    },
    out: {
      type: "string",
      arg: "DIR",
      access: "write-folder",
      help: "reports directory (with --shards; default reports)",
    },
    "zero-shot": { type: "boolean", help: "run zero-shot (needs --text-model)" },
    "linear-probe": { type: "boolean", help: "run the linear probe (needs train shards)" },
    "text-model": TEXT_MODEL_FLAG,
    classes: classListFlag(
      "zero-shot class list, one per line (default the shipped 700 Kinetics-700 names)",
    ),
    templates: {
      type: "string",
      arg: "FILE",
      access: "read-file",
      content: "templates",
      help: "zero-shot prompt templates with {} (default the shipped 28)",
    },
    split: {
      type: "string",
      arg: "SPLIT",
      default: "val",
      help: "split scored (the probe trains on train)",
    },
    C: {
      type: "string",
      arg: "X",
      default: "0.316",
      help: "probe inverse L2 strength (sklearn's C)",
    },
    "max-iter": { type: "string", arg: "N", default: "1000", help: "probe L-BFGS iteration cap" },
    providers: {
      type: "string",
      arg: "LIST",
      default: "cuda,cpu",
      help: "ONNX Runtime execution providers, tried in order",
    },
    card: {
      type: "string",
      arg: "FILE",
      access: "read-file",
      content: "text",
      help:
        "dataset card with the published accuracies (default the shipped CLIP-Kinetics700 card)",
    },
    pool: {
      type: "string",
      arg: "HOW",
      default: "centre",
      help: "clip features: centre (the card's methods: centre frame for the probe, per-frame " +
        "softmax mean for zero-shot) | mean (L2-normalised mean of the frames, both) | all " +
        "(both, side by side)",
    },
    "update-card": {
      type: "boolean",
      help: "also put the numbers into the shards' dataset card (README.md beside them, written " +
        "by shard), keeping its other sections; without it eval writes only the reports",
    },
    force: {
      type: "boolean",
      help: "evaluate again even when the reports were made from these shards and settings",
    },
    quiet: QUIET_LINES,
  },
};

/** `kinembed export`. */
export const EXPORT_TASK: TaskSpec = {
  name: "export",
  summary: "Write a shard set's embeddings as the folder layout clip-retrieval and autofaiss " +
    "read: img_emb/img_emb_{i}.npy (one unit-length row per video), metadata/metadata_{i}.parquet " +
    "(key, videoID, label, split, start, end, frames, tar, row) and, with --text-model, " +
    "text_emb/text_emb_{i}.npy (the zero-shot class embeddings). Rows in splits.csv's order of " +
    "tars, samples in tar order; videos without frames are left out and counted.",
  flags: {
    work: {
      type: "string",
      arg: "DIR",
      access: "read-work",
      help: "work dir: exports DIR/shards (default work)",
    },
    shards: {
      type: "string",
      arg: "DIR",
      access: "read-folder",
      help: "a directory of shards with its splits.csv, instead of --work",
    },
    out: {
      type: "string",
      arg: "DIR",
      access: "write-folder",
      help: "the export folder: new, empty, or holding an earlier export of the same shards",
    },
    format: { type: "string", arg: "F", default: "embeddings", help: "embeddings (the only one)" },
    dtype: {
      type: "string",
      arg: "T",
      default: "float16",
      help: "element type of the .npy files: float16 | float32",
    },
    pool: {
      type: "string",
      arg: "HOW",
      default: "mean",
      help: "a video's row: mean (L2-normalised mean of its L2-normalised frames) | centre " +
        "(its centre frame, L2-normalised)",
    },
    "part-size": {
      type: "string",
      arg: "N",
      default: String(DEFAULT_PART_SIZE),
      help: "rows per part (img_emb_{i}.npy, metadata_{i}.parquet)",
    },
    "text-model": TEXT_MODEL_FLAG,
    classes: classListFlag(
      "text_emb's classes, one per line (default the shipped 700 Kinetics-700 names)",
    ),
    templates: {
      type: "string",
      arg: "FILE",
      access: "read-file",
      content: "templates",
      help: "prompt templates with {} (default the shipped 28)",
    },
    providers: {
      type: "string",
      arg: "LIST",
      default: "cuda,cpu",
      help: "ONNX Runtime execution providers for the text model, tried in order",
    },
    quiet: QUIET_LINES,
  },
};

/** `kinembed run`. */
export const RUN_TASK: TaskSpec = {
  name: "run",
  summary: "Run the whole pipeline: download (when --annotations/--videos are given), sample and " +
    "encode overlapped through a bounded queue, shard, verify (with --card), eval (with " +
    "--eval). Each step resumes where an earlier run stopped.",
  flags: {
    work: WORK_FLAG,
    ...DOWNLOAD_INPUT_FLAGS,
    ...SUBSET_FLAGS,
    ...SAMPLE_FLAGS,
    thumbnails: {
      type: "boolean",
      help:
        "sample keeps thumbs/<id>.jpg (the middle frame, 128 px) and shard adds it as <key>.jpg",
    },
    ...ENCODE_FLAGS,
    "max-frames-in-flight": {
      type: "string",
      arg: "N",
      default: "1024",
      help: "frames decoded but not yet encoded, at most",
    },
    "shard-seed": {
      type: "string",
      arg: "S",
      default: String(RUN_SETTINGS.shardSeed.default),
      help: "shard: shuffle seed",
    },
    "per-shard": {
      type: "string",
      arg: "N",
      default: String(DEFAULT_PER_SHARD),
      help: "shard: samples per tar",
    },
    card: {
      type: "string",
      arg: "FILE",
      access: "read-file",
      content: "card",
      help: "verify against this dataset card (its license, source_datasets and BibTeX go " +
        "into the shards' card where --license/--source-dataset do not say)",
    },
    ...CARD_SOURCE_FLAGS,
    classes: classListFlag("verify and zero-shot: class list"),
    eval: {
      type: "boolean",
      help: "evaluate at the end (linear probe; zero-shot with --text-model)",
    },
    "text-model": TEXT_MODEL_FLAG,
    quiet: QUIET_PROGRESS,
    worker: {
      type: "string",
      arg: "K/N",
      help: "run as worker K of N: only its shards, into DIR/shards; then merge " +
        "(default from SLURM_ARRAY_TASK_ID, or JOB_COMPLETION_INDEX with --workers)",
    },
    workers: { type: "string", arg: "N", help: "worker count (with JOB_COMPLETION_INDEX)" },
    "worker-work": {
      type: "string",
      arg: "DIR",
      access: "work",
      help: "the worker's own work dir, e.g. on local disk (default DIR/workers/K)",
    },
  },
};

/** `kinembed merge`. */
export const MERGE_TASK: TaskSpec = {
  name: "merge",
  summary: "Join the worker manifests of a scale-out run (DIR/workers/<k>/manifest.db) into " +
    "DIR/manifest.db after checking that every planned shard is in DIR/shards exactly once, as " +
    "its worker recorded it; write splits.csv and manifest.json. Then verify --work DIR.",
  flags: {
    work: EXISTING_WORK_FLAG,
    workers: {
      type: "string",
      arg: "N",
      help: "how many workers the run had (default: what their manifests say)",
    },
    ...CARD_SOURCE_FLAGS,

    check: {
      type: "boolean",
      help: "only check that every worker's shards are there; write no output",
    },
    quiet: QUIET_LINES,
  },
};

/** `kinembed demo`. */
export const DEMO_TASK: TaskSpec = {
  name: "demo",
  summary: "Build the fixture dataset (8 visually distinct classes, Kinetics layout, CVDF-style " +
    "archives, plus one real Kinetics clip) and tiny CLIP-shaped models, then run download, " +
    "sample → encode, shard, verify and eval on them.",
  flags: {
    work: WORK_FLAG,
    seed: { type: "string", arg: "S", default: "0", help: "fixture dataset seed" },
    providers: {
      type: "string",
      arg: "LIST",
      default: "cpu",
      help: "execution providers in order",
    },
    quiet: QUIET_PROGRESS,
  },
};

/** `kinembed model`. */
export const MODEL_TASK: TaskSpec = {
  name: "model",
  positionals: "fetch|build|info NAME | list",
  summary:
    "CLIP models by name: fetch a checkpoint (a hub repo id owner/name[@revision] into the " +
    "huggingface_hub cache, or a local .safetensors file or folder), build its ONNX image and " +
    "text encoders, print its architecture, sha256 and cache paths, or list what is cached. " +
    `Known names (pinned commits): ${Object.keys(KNOWN_MODELS).join(", ")}.`,
  flags: {
    variant: {
      type: "string",
      arg: "V",
      default: "all",
      help: `image encoder variants to build: all | ${MODEL_VARIANTS.join(" | ")}`,
    },
    refresh: { type: "boolean", help: "ask the hub what a branch points to now" },
  },
};

/** `kinembed search`. */
export const SEARCH_TASK: TaskSpec = {
  name: "search",
  positionals: '"QUERY" ...',
  summary: "Exact text-to-video search: each query's CLIP text embedding against every video's " +
    "pooled embedding (cosine), the shards streamed tar by tar with a running top-k per query. " +
    "Prints rank, score, key, videoID, label, segment and the source link per hit.",
  flags: {
    work: {
      type: "string",
      arg: "DIR",
      access: "read-work",
      help: "work dir: shards from DIR/shards, thumbnails from DIR/thumbs (default work)",
    },
    shards: {
      type: "string",
      arg: "DIR",
      access: "read-folder",
      help: "a directory of shards with its splits.csv (e.g. the published set), instead of --work",
    },
    "text-model": TEXT_MODEL_FLAG,
    queries: {
      type: "string",
      arg: "FILE",
      access: "read-file",
      content: "text",
      help: "more queries, one per line, each its own result table",
    },
    k: { type: "string", arg: "N", default: "10", help: "hits per query" },
    split: {
      type: "string",
      arg: "SPLIT",
      help: "only this split: train | val | test (default all)",
    },
    pool: {
      type: "string",
      arg: "HOW",
      default: "mean",
      help: "video embedding: mean (L2-normalised mean of the L2-normalised frames) | centre " +
        "(the centre frame), as eval --pool",
    },
    providers: {
      type: "string",
      arg: "LIST",
      default: "cuda,cpu",
      help: "ONNX Runtime execution providers, tried in order",
    },
    html: {
      type: "string",
      arg: "FILE",
      help:
        "also write a self-contained page, one row per hit with its thumbnail when there is one",
    },
    quiet: QUIET_LINES,
  },
};

/** `kinembed gpu-setup`. */
export const GPU_SETUP_TASK: TaskSpec = {
  name: "gpu-setup",
  summary: `Install the CUDA execution provider libraries (npm ${PROVIDER_PACKAGE}@` +
    `${PROVIDER_PACKAGE_VERSION}: ONNX Runtime ${ONNXRUNTIME_VERSION}, CUDA 13) next to onnxruntime-node's ` +
    "library, then check that the CUDA 13 libraries they need can be found (loader paths, " +
    "LD_LIBRARY_PATH, CUDA toolkits, Python venvs' nvidia/*/lib) and print what is missing. " +
    "Exit 0 when ready or when there is no GPU here, 1 when a GPU is here but something is missing.",
  flags: {
    check: { type: "boolean", help: "only report; install nothing" },
    from: {
      type: "string",
      arg: "FILE|DIR",
      access: "read-file-or-folder",
      help: "the packed package (.tgz), its unpacked folder, or a folder holding the two " +
        "libraries (for machines without the npm registry)",
    },
    cache: {
      type: "string",
      arg: "DIR",
      access: "write-folder",
      help:
        "where npm pack puts the package (default $XDG_CACHE_HOME/kinembed or ~/.cache/kinembed)",
    },
    "ort-dir": {
      type: "string",
      arg: "DIR",
      access: "write-folder",
      help:
        "onnxruntime-node's library folder (default: node_modules/onnxruntime-node/bin/napi-v6/linux/x64)",
    },
    venv: {
      type: "string",
      multiple: true,
      arg: "DIR",
      access: "read-folder",
      help: "also search this Python environment's nvidia/*/lib (venv root or site-packages)",
    },
    "no-probe": { type: "boolean", help: "do not try the CUDA provider on a tiny model" },
  },
};

/** Every task the launcher starts, by the name typed after `kinembed`. */
export const TASK_SPECS: Readonly<Record<string, TaskSpec>> = Object.fromEntries(
  [
    DOWNLOAD_TASK,
    SAMPLE_TASK,
    ENCODE_TASK,
    SHARD_TASK,
    VERIFY_TASK,
    EVAL_TASK,
    EXPORT_TASK,
    RUN_TASK,
    MERGE_TASK,
    DEMO_TASK,
    GPU_SETUP_TASK,
    MODEL_TASK,
    SEARCH_TASK,
  ].map((s) => [s.name, s]),
);
