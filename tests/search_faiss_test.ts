/**
 * `kinembed search` against the index a user would build from `kinembed export`: faiss's exact
 * inner-product index (Debian's python3-faiss) over `img_emb/`, queried with the same text
 * embeddings, returns the same top-k videos as search does over the tars.
 */
import { join } from "node:path";
import { makeSyntheticWorkDir } from "../fixtures/synthetic_work_dir.ts";
import { ensureFixtureModels } from "../fixtures/make_models.ts";
import { shard } from "../lib/shard/mod.ts";
import { encodeQueries } from "../lib/search/mod.ts";
import { writeNpy } from "../lib/base/mod.ts";
import { assert, assertEquals } from "./support/assert.ts";
import { repoPath, tempDir } from "./support/media.ts";
import { denoTask } from "./support/tasks.ts";

/** faiss over the export's rows; row → key from splits.csv's tars in order, 0-frame videos out. */
const FAISS_TOP_K = String.raw`
import csv, io, json, os, sys, tarfile
import numpy as np
import faiss
shards, out, queries_npy, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
keys = []
for r in csv.DictReader(open(os.path.join(shards, "splits.csv"))):
    with tarfile.open(os.path.join(shards, r["tar_file"])) as t:
        for m in t.getmembers():
            if m.name.endswith(".npy") and np.load(io.BytesIO(t.extractfile(m).read())).shape[0] > 0:
                keys.append(m.name[:-4])
parts, i = [], 0
while os.path.exists(os.path.join(out, "img_emb", f"img_emb_{i}.npy")):
    parts.append(np.load(os.path.join(out, "img_emb", f"img_emb_{i}.npy")).astype(np.float32))
    i += 1
emb = np.concatenate(parts)
assert emb.shape[0] == len(keys), (emb.shape, len(keys))
index = faiss.IndexFlatIP(emb.shape[1])
index.add(emb)
_, ids = index.search(np.load(queries_npy).astype(np.float32), k)
print(json.dumps([[keys[j] for j in row] for row in ids.tolist()]))
`;

Deno.test("search's top-k over the tars is faiss IndexFlatIP's over the export's img_emb, for the same queries", async () => {
  const { dir, cleanup } = await tempDir("kinembed-search-faiss-");
  try {
    const labels = ["abseiling", "archery", "zumba"];
    const { layout } = await makeSyntheticWorkDir({
      dir: join(dir, "work"),
      counts: { train: 20, val: 12 },
      classes: labels,
      frames: (i) => i % 7 === 6 ? 0 : 1 + (i % 4),
      dim: 512,
    });
    await shard({ work: layout.root, perShard: 5, quiet: true });
    const { text } = await ensureFixtureModels(repoPath("fixtures", "models"), "tiny");
    const out = join(dir, "export");
    const exported = await denoTask("export", [
      "--format",
      "embeddings",
      "--work",
      layout.root,
      "--out",
      out,
      "--dtype",
      "float32",
      "--pool",
      "mean",
    ]);
    assertEquals(exported.code, 0, exported.stderr);

    const queries = ["a person abseiling down a cliff", "archery practice", "people dancing zumba"];
    const queryFile = join(dir, "queries.txt");
    await Deno.writeTextFile(queryFile, queries.join("\n") + "\n");
    const k = 6;
    const found = await denoTask("search", [
      "--work",
      layout.root,
      "--text-model",
      text,
      "--queries",
      queryFile,
      "--k",
      String(k),
      "--pool",
      "mean",
      "--providers",
      "cpu",
      "--json",
    ]);
    assertEquals(found.code, 0, found.stderr);
    const result = JSON.parse(found.stdout) as {
      results: { query: string; hits: { key: string }[] }[];
    };
    const ours = result.results.map((r) => r.hits.map((h) => h.key));

    // the same text embeddings (the library search uses), searched by faiss over the export
    const { embeddings, dim } = await encodeQueries(text, queries, {
      providers: ["cpu"],
      warn: () => {},
    });
    const npy = join(dir, "queries.npy");
    await Deno.writeFile(
      npy,
      writeNpy({ dtype: "<f4", shape: [queries.length, dim], data: embeddings }),
    );
    const py = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", FAISS_TOP_K, layout.shards, out, npy, String(k)],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(py.success, new TextDecoder().decode(py.stderr));
    const theirs = JSON.parse(new TextDecoder().decode(py.stdout)) as string[][];
    assertEquals(ours.map((r) => r.length), [k, k, k]);
    assertEquals(ours, theirs);
  } finally {
    await cleanup();
  }
});
