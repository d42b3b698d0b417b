/**
 * The kinembed version, as `deno.json` states it, for provenance in cards and reports.
 * @module
 */
import denoConfig from "../../deno.json" with { type: "json" };

/** This kinembed's version (`deno.json`'s `version`). */
export const KINEMBED_VERSION: string = denoConfig.version;
