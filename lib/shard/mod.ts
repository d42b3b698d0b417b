/**
 * WebDataset shards: the plan (which video becomes which key in which tar), the writer, the
 * shard step, `splits.csv`, scale-out workers and their merge, and the reader.
 * @module
 */
export * from "./plan.ts";
export * from "./writer.ts";
export * from "./splits_csv.ts";
export * from "./shard.ts";
export * from "./worker.ts";
export * from "./merge.ts";
export * from "./reader.ts";
export * from "./hub_card.ts";
