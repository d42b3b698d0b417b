/** `kinembed verify`: check shards against a dataset card (read-only). */
import { intFlag, runTask, stringFlag } from "../lib/cli/mod.ts";
import { requireWorkDir, UsageError } from "../lib/core/mod.ts";
import { formatVerifyReport, verify } from "../lib/verify/mod.ts";

await runTask({
  name: "verify",
  summary: "Check WebDataset shards against a dataset card's Data Splits: per split samples and " +
    "tars, keys unique and contiguous, complete samples, .npy shape (n,512) float and finite, " +
    ".json fields, labels, sha256 against the manifest. Writes nothing.",
  flags: {
    work: {
      type: "string",
      arg: "DIR",
      help: "work dir: checks DIR/shards and each shard's sha256 against DIR/manifest.db",
    },
    shards: { type: "string", arg: "DIR", help: "a directory of shards with its splits.csv" },
    card: { type: "string", arg: "FILE", help: "dataset card with a Data Splits section" },
    classes: {
      type: "string",
      arg: "FILE",
      help: "class list, one per line: labels must be in it",
    },
    dim: {
      type: "string",
      arg: "N",
      help: "embedding width each .npy must have (default: the work dir's model's, else 512)",
    },
    json: { type: "boolean", help: "print the report as one JSON object on stdout" },
    quiet: { type: "boolean", help: "no progress lines" },
  },
}, async (values) => {
  const work = stringFlag(values, "work");
  const shards = stringFlag(values, "shards");
  const card = stringFlag(values, "card");
  if ((work === undefined) === (shards === undefined)) {
    throw new UsageError("give one of --work DIR or --shards DIR");
  }
  if (card === undefined) throw new UsageError("--card FILE is required");
  const json = values.json === true;
  if (work !== undefined) await requireWorkDir(work, "verify");
  const report = await verify({
    work,
    shards,
    card,
    classes: stringFlag(values, "classes"),
    dim: intFlag(values, "dim", 1),
    quiet: values.quiet === true || json,
  });
  if (!json) console.log(formatVerifyReport(report));
  return { code: report.ok ? 0 : 1, summary: { ...report } };
});
