/**
 * The flags that give a shard set's dataset card its license and source datasets (`shard`,
 * `merge`, `run`), and their options.
 * @module
 */
import type { FlagSpec, FlagValues } from "./flag_spec.ts";
import { type CardSource, cardSourceFromFlags } from "../shard/mod.ts";

/** `--license` and `--source-dataset`: repeatable or comma-separated. */
export const CARD_SOURCE_FLAGS: Record<string, FlagSpec> = {
  license: {
    type: "string",
    arg: "ID",
    multiple: true,
    help: "the shards' card: Hub license id (e.g. cc-by-4.0; repeatable; default none written)",
  },
  "source-dataset": {
    type: "string",
    arg: "NAME",
    multiple: true,
    help: "the shards' card: dataset the videos came from (e.g. kinetics700; repeatable)",
  },
};

/**
 * The card source `--license` and `--source-dataset` give.
 * @param v parsed flags (with `CARD_SOURCE_FLAGS`)
 * @returns the source, or undefined when neither flag was given
 * @throws UsageError naming the flag and a value that is not a Hub id
 */
export function cardSourceFlagOptions(v: FlagValues): CardSource | undefined {
  const list = (name: string) => (v[name] as string[] | undefined) ?? [];
  return cardSourceFromFlags(list("license"), list("source-dataset"));
}
