/**
 * The reference files shipped in `data/` (see `data/README.md`): Kinetics-700 class names, the 28
 * zero-shot prompt templates, CLIP's BPE vocabulary and the CLIP-Kinetics700 dataset card, with
 * loaders that check the line formats.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { fillTemplate, loadClassNames, loadPromptTemplates } from "./reference_data.ts";
 * const classes = await loadClassNames();
 * const templates = await loadPromptTemplates();
 * strictEqual(fillTemplate(templates[0], classes[0]), "a photo of abseiling.");
 * ```
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FormatError } from "../base/mod.ts";

/** Absolute file path of the project's `data/` folder, found relative to this module. */
export const DATA_DIR: string = fileURLToPath(new URL("../../data/", import.meta.url));

/** Path of the 700 Kinetics-700 class names (`data/kinetics700_classes.txt`). */
export const defaultClassesPath: string = join(DATA_DIR, "kinetics700_classes.txt");

/** Path of the 28 zero-shot prompt templates (`data/kinetics700_prompt_templates.txt`). */
export const defaultTemplatesPath: string = join(DATA_DIR, "kinetics700_prompt_templates.txt");

/** Path of CLIP's gzipped BPE merges (`data/bpe_simple_vocab_16e6.txt.gz`). */
export const defaultVocabPath: string = join(DATA_DIR, "bpe_simple_vocab_16e6.txt.gz");

/** Path of the CLIP-Kinetics700 dataset card (`data/clip-kinetics700-card.md`). */
export const defaultCardPath: string = join(DATA_DIR, "clip-kinetics700-card.md");

/** The placeholder a prompt template holds for the class name. */
export const TEMPLATE_PLACEHOLDER = "{}";

/**
 * Splits text into lines: a leading BOM, `\r` before `\n` and one final newline are dropped;
 * every other line, empty or not, is kept so that line numbers in errors stay true.
 */
function splitLines(text: string): string[] {
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  const lines = text.split("\n").map((line) => line.endsWith("\r") ? line.slice(0, -1) : line);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/**
 * Parses class names, one per line, in file order (a name's index is its class index).
 * @param text the file's content
 * @param source the file name used in error messages
 * @returns the names
 * @throws {FormatError} `<source>:<line>: ...` for an empty line, a name with leading or trailing
 *   whitespace, a duplicate name (naming the first line), or a file without names
 */
export function parseClassNames(text: string, source = "<class names>"): string[] {
  return checkClassNames(splitLines(text), source);
}

function checkClassNames(lines: string[], source: string): string[] {
  const firstLine = new Map<string, number>();
  lines.forEach((name, i) => {
    const where = `${source}:${i + 1}`;
    if (name.trim() === "") throw new FormatError(`${where}: empty class name`);
    if (name.trim() !== name) {
      throw new FormatError(
        `${where}: class name ${JSON.stringify(name)} has leading or trailing whitespace`,
      );
    }
    const seen = firstLine.get(name);
    if (seen !== undefined) {
      throw new FormatError(
        `${where}: duplicate class name ${JSON.stringify(name)} (first on line ${seen})`,
      );
    }
    firstLine.set(name, i + 1);
  });
  if (lines.length === 0) throw new FormatError(`${source}: no class names`);
  return lines;
}

/**
 * Loads class names, one per line, in file order (a name's index is its class index).
 * @param path the file; defaults to the shipped 700 Kinetics-700 names
 * @returns the names
 * @throws {FormatError} naming the file and line for an empty, padded or duplicate name
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { loadClassNames } from "./reference_data.ts";
 * const classes = await loadClassNames();
 * strictEqual(classes.length, 700);
 * ```
 */
export async function loadClassNames(path: string = defaultClassesPath): Promise<string[]> {
  return checkClassNames(splitLines(await Deno.readTextFile(path)), path);
}

/**
 * Parses prompt templates, one per line, each holding `{}` exactly once.
 * @param text the file's content
 * @param source the file name used in error messages
 * @returns the templates in file order
 * @throws {FormatError} `<source>:<line>: ...` for an empty line, a template without `{}` or with
 *   more than one, or a file without templates
 */
export function parsePromptTemplates(text: string, source = "<prompt templates>"): string[] {
  return checkTemplates(splitLines(text), source);
}

function checkTemplates(lines: string[], source: string): string[] {
  lines.forEach((template, i) => {
    const where = `${source}:${i + 1}`;
    if (template.trim() === "") throw new FormatError(`${where}: empty prompt template`);
    const holes = template.split(TEMPLATE_PLACEHOLDER).length - 1;
    if (holes !== 1) {
      throw new FormatError(
        `${where}: prompt template ${JSON.stringify(template)} must contain "{}" exactly once ` +
          `(found ${holes})`,
      );
    }
  });
  if (lines.length === 0) throw new FormatError(`${source}: no prompt templates`);
  return lines;
}

/**
 * Loads prompt templates, one per line, each holding `{}` exactly once.
 * @param path the file; defaults to the shipped 28 templates
 * @returns the templates in file order
 * @throws {FormatError} naming the file and line for an empty template or one without `{}`
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert/strict";
 * import { loadPromptTemplates } from "./reference_data.ts";
 * const templates = await loadPromptTemplates();
 * deepStrictEqual([templates.length, templates[0]], [28, "a photo of {}."]);
 * ```
 */
export async function loadPromptTemplates(path: string = defaultTemplatesPath): Promise<string[]> {
  return checkTemplates(splitLines(await Deno.readTextFile(path)), path);
}

/**
 * Fills a prompt template with a class name, as Python's `template.format(name)` does for the
 * one-placeholder templates the loaders accept.
 * @param template a template holding `{}`
 * @param className the text to put in its place
 * @returns the prompt
 */
export function fillTemplate(template: string, className: string): string {
  // A function replacement keeps `$&`-like sequences in the class name literal.
  return template.replace(TEMPLATE_PLACEHOLDER, () => className);
}
