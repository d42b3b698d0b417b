import { throws } from "node:assert/strict";
import { assertEquals } from "../../tests/support/assert.ts";
import { ConfigMismatchError } from "../base/mod.ts";
import {
  configHash,
  describeConfigMismatch,
  flagOfKey,
  readSetting,
  readSettings,
  RUN_SETTINGS,
  type RunSettings,
  settingOrDefault,
  toRunConfig,
} from "./run_config.ts";

/** What a hub-model run stores, key by key, as kinembed wrote it before the schema existed. */
const STORED = {
  fps: 1,
  preset: "clip",
  frame_size: 224,
  ffmpeg_version: "7.1",
  ffmpeg_sha256: "a".repeat(64),
  model_sha256: "b".repeat(64),
  model_input: "pixel_values:float32",
  model_output: "image_embeds",
  embed_dim: 512,
  batch: 32,
  dtype: "float16",
  provider: "cpu",
  onnxruntime: "1.29.0",
  model_name: "openai/clip-vit-base-patch32",
  model_revision: "c".repeat(40),
  model_checkpoint_sha256: "d".repeat(64),
  model_variant: "float32",
  shard_seed: 0,
  per_shard: 10000,
};

/** The same run, by setting name, as the steps record it now (thumbnails never asked for). */
const SETTINGS: Omit<RunSettings, "shardThumbnails"> = {
  fps: 1,
  preset: "clip",
  frameSize: 224,
  ffmpegVersion: "7.1",
  ffmpegSha256: "a".repeat(64),
  modelSha256: "b".repeat(64),
  modelInput: "pixel_values:float32",
  modelOutput: "image_embeds",
  embedDim: 512,
  batch: 32,
  dtype: "float16",
  provider: "cpu",
  onnxruntime: "1.29.0",
  modelName: "openai/clip-vit-base-patch32",
  modelRevision: "c".repeat(40),
  modelCheckpointSha256: "d".repeat(64),
  modelVariant: "float32",
  shardSeed: 0,
  perShard: 10000,
  shardPlan: "inputs",
  worker: 1,
  workers: 4,
};

Deno.test("config hash: the hashes kinembed computed before the schema existed are kept", () => {
  // computed with the code before lib/core/run_config.ts: existing work dirs stay valid
  assertEquals(
    configHash(STORED),
    "887ed9087d3faf8b2bac8c2a040f924efbe8970b311d206578ca2484dd58a4a1",
  );
  assertEquals(
    configHash({ ...STORED, shard_plan: "inputs", worker: 1, workers: 4 }),
    "ec6c6e7037104467b2077d0091859a786007352baa095c145d5bb4242c38599d",
  );
  // key order does not matter
  const reversed = Object.fromEntries(Object.entries(STORED).reverse());
  assertEquals(configHash(reversed), configHash(STORED));
});

Deno.test("settings by name are stored under the keys (and so with the hash) of before", () => {
  const { shardPlan: _p, worker: _w, workers: _n, ...single } = SETTINGS;
  assertEquals(toRunConfig(single), STORED);
  assertEquals(
    configHash(toRunConfig(SETTINGS)),
    "ec6c6e7037104467b2077d0091859a786007352baa095c145d5bb4242c38599d",
  );
  assertEquals(readSettings(toRunConfig(SETTINGS)), SETTINGS);
  // absent settings are left out, not stored as null; a recorded null is kept
  assertEquals(toRunConfig({ fps: 2, batch: undefined }), { fps: 2 });
  assertEquals(toRunConfig({ modelName: null }), { model_name: null });
});

Deno.test("schema: one key per setting, defaults stated once", () => {
  const keys = Object.values(RUN_SETTINGS).map((s) => s.key);
  assertEquals(new Set(keys).size, keys.length);
  assertEquals(settingOrDefault({}, "fps"), 1);
  assertEquals(settingOrDefault({}, "preset"), "clip");
  assertEquals(settingOrDefault({}, "batch"), 32);
  assertEquals(settingOrDefault({}, "dtype"), "float16");
  assertEquals(settingOrDefault({}, "perShard"), 10_000);
  assertEquals(settingOrDefault({}, "shardSeed"), 0);
  assertEquals(settingOrDefault({}, "embedDim"), 512);
  assertEquals(settingOrDefault({ per_shard: 3 }, "perShard"), 3);
  throws(() => settingOrDefault({}, "modelSha256"), /no default/);
  // a value of another type than the schema's reads as absent
  assertEquals(readSetting({ embed_dim: "512" }, "embedDim"), undefined);
  assertEquals(readSetting({ workers: 4 }, "workers"), 4);
});

Deno.test("shard --thumbnails: a boolean setting, stored only when given", () => {
  assertEquals(toRunConfig({ perShard: 3, shardThumbnails: true }), {
    per_shard: 3,
    shard_thumbnails: true,
  });
  assertEquals(readSetting({ shard_thumbnails: false }, "shardThumbnails"), false);
  assertEquals(readSetting({ shard_thumbnails: "true" }, "shardThumbnails"), undefined);
  assertEquals(settingOrDefault({}, "shardThumbnails"), false);
  assertEquals(flagOfKey("shard_thumbnails"), "--thumbnails");
  // tars with thumbnails are another configuration's outputs
  assertEquals(configHash({ ...STORED, shard_thumbnails: true }) === configHash(STORED), false);
});

Deno.test("mismatch message: each setting named by its flag, keys without one by key", () => {
  assertEquals(flagOfKey("per_shard"), "--per-shard");
  assertEquals(flagOfKey("model_variant"), "--model-variant");
  assertEquals(flagOfKey("ffmpeg_sha256"), null);
  assertEquals(flagOfKey("not_a_setting"), null);
  const e = new ConfigMismatchError("/w", [
    { key: "batch", stored: 32, requested: 8 },
    { key: "model_variant", stored: "float32", requested: "fp16-uint8" },
    { key: "onnxruntime", stored: "1.28.0", requested: "1.29.0" },
  ]);
  assertEquals(
    describeConfigMismatch(e),
    "work dir /w holds outputs of another configuration: it was made with --batch 32, this run " +
      "asks for --batch 8; it was made with --model-variant float32, this run asks for " +
      '--model-variant fp16-uint8; onnxruntime is "1.28.0" there, "1.29.0" now. ' +
      "Use the same settings, or a new --work dir.",
  );
});
