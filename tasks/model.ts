/** `kinembed model fetch|build|info|list`: CLIP checkpoints from the hub, built into encoders. */
import { MODEL_TASK, runTask, stringFlag } from "../lib/cli/mod.ts";
import { UsageError } from "../lib/core/mod.ts";
import {
  fetchCheckpoint,
  listCachedModels,
  MODEL_VARIANTS,
  modelInfo,
  type ModelVariant,
  parseModelSource,
  resolveModel,
} from "../lib/model/mod.ts";

const COMMANDS = ["fetch", "build", "info", "list"];

await runTask(MODEL_TASK, async (values, positionals) => {
  const [command, name, ...rest] = positionals;
  if (!COMMANDS.includes(command)) {
    throw new UsageError(`the command must be one of ${COMMANDS.join(", ")}`);
  }
  if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(" ")}`);
  // with --json, what a command found is the task's JSON object (stdout); the text goes nowhere
  const json = values.json === true;
  const log = (line: string) => console.error(line);
  const opts = { refresh: values.refresh === true, log };
  if (command === "list") {
    if (name !== undefined) throw new UsageError("list takes no name");
    const models = await listCachedModels(opts);
    if (json) return { code: 0, summary: { models } };
    if (models.length === 0) console.log("model: nothing cached");
    else {
      for (const m of models) {
        console.log(
          `${m.name}${m.known ? " (known)" : ""}: ${m.commits.length} snapshot(s)` +
            `${m.commits.length ? " " + m.commits.map((c) => c.slice(0, 12)).join(", ") : ""}, ` +
            `${m.built.length} built encoder(s)`,
        );
        for (const b of m.built) console.log(`  ${b}`);
        for (const b of m.stale) {
          console.log(`  ${b} (earlier cache layout, unused: may be deleted)`);
        }
      }
    }
    return 0;
  }
  if (name === undefined) throw new UsageError(`${command} needs a model name`);
  const source = parseModelSource(name);
  if (source.kind === "onnx") {
    throw new UsageError(`${name} is an .onnx file already; name a checkpoint or hub repo`);
  }
  if (command === "fetch") {
    const c = await fetchCheckpoint(source, opts);
    if (json) return { code: 0, summary: { ...c } };
    console.log(
      `model: ${c.name}${c.revision ? "@" + c.revision : ""}: ${c.path} (sha256 ${c.sha256}, ` +
        `${c.requests} requests)`,
    );
    return 0;
  }
  if (command === "build") {
    const variant = stringFlag(values, "variant");
    const variants = variant === "all" ? MODEL_VARIANTS : [variant as ModelVariant];
    if (!variants.every((v) => MODEL_VARIANTS.includes(v))) {
      throw new UsageError(`--variant must be all, ${MODEL_VARIANTS.join(" or ")}`);
    }
    const built = [];
    for (const v of variants) built.push(await resolveModel(name, { ...opts, variant: v }));
    built.push(await resolveModel(name, { ...opts, tower: "text" }));
    if (json) return { code: 0, summary: { built } };
    for (const b of built) console.log(`${b.built ? "built" : "cached"}: ${b.path}`);
    return 0;
  }
  const info = await modelInfo(name, opts);
  if (json) return { code: 0, summary: { ...info } };
  const { vision: v, text: t } = info.arch;
  console.log(`name:        ${info.name}${info.revision ? "@" + info.revision : ""}`);
  console.log(`checkpoint:  ${info.checkpoint} (${info.arch.layout} layout)`);
  console.log(`sha256:      ${info.sha256}`);
  console.log(
    `image:       ViT ${v.imageSize}px patch ${v.patch}, width ${v.width}, ${v.layers} layers, ` +
      `${v.heads} heads, mlp ${v.mlp}, ${info.arch.visionActivation}, ` +
      `${info.parameters.vision.toLocaleString("en")} parameters`,
  );
  console.log(
    `text:        vocab ${t.vocab}, context ${t.context}, width ${t.width}, ${t.layers} layers, ` +
      `${t.heads} heads, mlp ${t.mlp}, ${info.arch.textActivation}, ` +
      `${info.parameters.text.toLocaleString("en")} parameters`,
  );
  console.log(`embedding:   ${v.embedDim}`);
  console.log(`cache key:   ${info.cacheKey}`);
  console.log(`key covers:  ${info.cacheKeyCovers}`);
  for (const [k, p] of Object.entries(info.built)) {
    console.log(
      `${(k + ":").padEnd(13)}${p ?? "(not built: kinembed model build " + name + ")"}`,
    );
  }
  return 0;
});
