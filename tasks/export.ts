/** `kinembed export`: a shard set's embeddings in clip-retrieval's and autofaiss's folder layout. */
import { requireWorkDir, UsageError } from "../lib/core/mod.ts";
import { EXPORT_TASK, intFlag, runTask, stringFlag } from "../lib/cli/mod.ts";
import {
  EXPORT_DTYPES,
  EXPORT_POOLINGS,
  type ExportDtype,
  exportEmbeddings,
  type ExportPooling,
} from "../lib/export/mod.ts";
import { parseProviders } from "../lib/onnx/mod.ts";

await runTask(EXPORT_TASK, async (values) => {
  const shards = stringFlag(values, "shards");
  const given = stringFlag(values, "work");
  if (given !== undefined && shards !== undefined) {
    throw new UsageError("give one of --work DIR or --shards DIR, not both");
  }
  const out = stringFlag(values, "out");
  if (out === undefined) throw new UsageError("--out DIR is required (the export folder)");
  const format = stringFlag(values, "format") ?? "embeddings";
  if (format !== "embeddings") {
    throw new UsageError(`--format ${format}: unknown format (known: embeddings)`);
  }
  const dtype = stringFlag(values, "dtype") ?? "float16";
  if (!(EXPORT_DTYPES as readonly string[]).includes(dtype)) {
    throw new UsageError(`--dtype ${dtype}: unknown (known: ${EXPORT_DTYPES.join(", ")})`);
  }
  const pool = stringFlag(values, "pool") ?? "mean";
  if (!(EXPORT_POOLINGS as readonly string[]).includes(pool)) {
    throw new UsageError(`--pool ${pool}: unknown (known: ${EXPORT_POOLINGS.join(", ")})`);
  }
  const partSize = intFlag(values, "part-size", 1);
  const providers = parseProviders(stringFlag(values, "providers") ?? "cuda,cpu");
  const work = given ?? (shards === undefined ? "work" : undefined);
  if (work !== undefined) await requireWorkDir(work, "export");
  const quiet = values.quiet === true;
  const s = await exportEmbeddings({
    shards: shards ?? `${work}/shards`,
    out,
    dtype: dtype as ExportDtype,
    pool: pool as ExportPooling,
    partSize,
    textModel: stringFlag(values, "text-model"),
    classes: stringFlag(values, "classes"),
    templates: stringFlag(values, "templates"),
    providers,
    log: quiet ? () => {} : undefined,
  });
  if (s.nothingToDo) {
    console.log(`export: ${out} already holds this export (${s.rows} videos); nothing to do`);
  } else {
    console.log(
      `export: ${s.rows} videos in ${s.parts} part(s) of at most ${partSize} rows into ${out}` +
        (s.skippedNoFrames > 0 ? `; ${s.skippedNoFrames} without frames left out` : "") +
        (s.textClasses === null
          ? "; text_emb not written (no --text-model)"
          : `; text_emb: ${s.textClasses} classes`),
    );
  }
  return { code: 0, summary: { ...s } };
});
