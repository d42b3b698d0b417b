/**
 * An independent reader of a Hub dataset card's split mapping, in Python: it applies the card's
 * `configs` → `data_files` patterns the way `datasets` resolves them (each pattern globbed against
 * the dataset's root) and counts each split's samples with `tarfile`.
 * @module
 */

// What `datasets` does with a card's configs: for each split, each pattern of `path` resolved
// against the dataset's root by glob; the tars' members counted with tarfile.
const DATA_FILES_READER = `
import glob, json, os, sys, tarfile, yaml
root = sys.argv[1]
text = open(os.path.join(root, "README.md"), encoding="utf-8").read()
assert text.startswith("---\\n"), "no YAML front matter"
meta = yaml.safe_load(text.split("---\\n")[1])
config = [c for c in meta["configs"] if c["config_name"] == "default"][0]
mapping, counts = {}, {}
for entry in config["data_files"]:
    patterns = entry["path"] if isinstance(entry["path"], list) else [entry["path"]]
    for pattern in patterns:
        hits = sorted(glob.glob(os.path.join(glob.escape(root), pattern)))
        assert hits, "pattern %r matches nothing" % pattern
        for hit in hits:
            name = os.path.relpath(hit, root)
            assert name not in mapping, "%s in two splits" % name
            mapping[name] = entry["split"]
            with tarfile.open(hit) as t:
                n = sum(1 for m in t.getmembers() if m.name.endswith(".npy"))
            counts[entry["split"]] = counts.get(entry["split"], 0) + n
features = {f["name"]: f for f in meta["dataset_info"]["features"]}
declared = {s["name"]: s["num_examples"] for s in meta["dataset_info"]["splits"]}
print(json.dumps({"mapping": mapping, "counts": counts, "declared": declared,
                  "npy": features["npy"]["dtype"]["array2_d"],
                  "features": sorted(features)}))
`;

/** What the reader found. */
export interface HubDataFiles {
  /** Tar file → split, from the card's patterns. */
  mapping: Record<string, string>;
  /** Samples per split, counted in the tars. */
  counts: Record<string, number>;
  /** `dataset_info.splits` num_examples per split. */
  declared: Record<string, number>;
  /** The `npy` feature's `array2_d`. */
  npy: { shape: (number | null)[]; dtype: string };
  /** Feature names, sorted. */
  features: string[];
}

/**
 * Reads a shards folder's `README.md` as `datasets` would map its files to splits.
 * @param shardsDir the folder with `README.md` and the tars
 * @returns the mapping, counts, declared counts and features
 */
export async function readHubDataFiles(shardsDir: string): Promise<HubDataFiles> {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", DATA_FILES_READER, shardsDir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}
