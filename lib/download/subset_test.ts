import { parseSplits, pickFromSorted, selectSubset } from "./subset.ts";
import { type Split, UsageError } from "../base/mod.ts";
import type { VideoRow } from "../core/mod.ts";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";

function row(id: string, split: Split, label: string | null): VideoRow {
  return { id, split, label, youtubeId: id, timeStart: 0, timeEnd: 10, source: null };
}

/** 60 rows over three splits; test rows have no label. Ids are mixed-case so code-unit order matters. */
function rows(): VideoRow[] {
  const out: VideoRow[] = [];
  for (let i = 0; i < 60; i++) {
    const split = (["train", "val", "test"] as const)[i % 3];
    const id = `${i % 2 ? "a" : "B"}${String((i * 37) % 100).padStart(3, "0")}`;
    out.push(row(id, split, split === "test" ? null : `class${i % 4}`));
  }
  return out;
}

// The documented draw, written again from the module doc in Python: sort by id in code-unit order,
// Fisher–Yates from the end driven by mulberry32(seed), first K per (split, label), first N, sort.
const PYTHON_PICK = `
import json, sys
req = json.load(sys.stdin)
def mulberry32(seed):
    a = seed & 0xFFFFFFFF
    def imul(x, y): return (x * y) & 0xFFFFFFFF
    def draw():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a
        t = imul(t ^ (t >> 15), t | 1)
        t = (t ^ ((t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296
    return draw
rows = sorted((r for r in req["rows"] if r["split"] in req["splits"]), key=lambda r: r["id"].encode("utf-16-be"))
rand = mulberry32(req["seed"])
for i in range(len(rows) - 1, 0, -1):
    j = int(rand() * (i + 1))
    rows[i], rows[j] = rows[j], rows[i]
taken, kept = {}, []
for r in rows:
    key = (r["split"], r["label"] or "")
    if taken.get(key, 0) < req["perClass"]:
        taken[key] = taken.get(key, 0) + 1
        kept.append(r)
kept = kept[: req["limit"]]
print(json.dumps(sorted((r["id"] for r in kept), key=lambda s: s.encode("utf-16-be"))))
`;

async function pythonPick(req: object): Promise<string[]> {
  const child = new Deno.Command("/usr/bin/python3", {
    args: ["-c", PYTHON_PICK],
    stdin: "piped",
    stdout: "piped",
  })
    .spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(JSON.stringify(req)));
  await w.close();
  const out = await child.output();
  assert(out.success, "python failed");
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("subset: the pick equals the documented draw written independently in Python", async () => {
  const all = rows();
  for (
    const opts of [
      { splits: ["train", "val", "test"] as Split[], perClass: 2, limit: 1000, seed: 0 },
      { splits: ["val", "test"] as Split[], perClass: 3, limit: 7, seed: 42 },
      { splits: ["train"] as Split[], perClass: 1000, limit: 5, seed: 4294967295 },
    ]
  ) {
    const got = selectSubset(all, opts).map((r) => r.id);
    assertEquals(got, await pythonPick({ rows: all, ...opts }), JSON.stringify(opts));
  }
});

Deno.test("subset: the cap is per (split, label), test rows without a label counting as one class", () => {
  const picked = selectSubset(rows(), { perClass: 2, seed: 3 });
  const per = new Map<string, number>();
  for (const r of picked) {
    per.set(`${r.split}/${r.label}`, (per.get(`${r.split}/${r.label}`) ?? 0) + 1);
  }
  assertEquals(per.get("test/null"), 2);
  assertEquals([...per.values()].every((n) => n === 2), true);
  assertEquals(per.size, 4 + 4 + 1);
});

Deno.test("subset: with neither cap nor limit every row of the splits is kept, sorted by code unit", () => {
  const got = selectSubset(rows(), { splits: ["val"] }).map((r) => r.id);
  assertEquals(got.length, 20);
  assertEquals(got, got.slice().sort());
  assert(got[0].startsWith("B"), "upper case sorts first, not by locale");
});

Deno.test("subset: pickFromSorted returns the kept rows in shuffled order, rows without a split included", () => {
  const sorted = [
    { split: null, label: null },
    ...Array.from({ length: 9 }, (_, i) => ({ split: "train" as Split, label: `c${i % 3}`, i })),
  ];
  const kept = pickFromSorted(sorted, { perClass: 1, seed: 11 });
  assertEquals(kept.length, 4);
  assert(kept.includes(sorted[0]), "a row without a split is its own class");
  const same = pickFromSorted(sorted, { perClass: 1, seed: 11 });
  assertEquals(same, kept);
  const firstTwo = pickFromSorted(sorted, { perClass: 1, limit: 2, seed: 11 });
  assertEquals(firstTwo, kept.slice(0, 2));
});

Deno.test("subset: --splits takes names and aliases, drops repeats and blanks, orders train, val, test", async () => {
  assertEquals(parseSplits("test, Validation,,train,val"), ["train", "val", "test"]);
  assertEquals(parseSplits("testing"), ["test"]);
  const e = await assertRejects(
    () => parseSplits("train,dev"),
    '--splits: unknown split "dev" (train, val, test)',
  );
  assert(e instanceof UsageError);
  await assertRejects(() => parseSplits(" , "), "--splits needs at least one split");
});
