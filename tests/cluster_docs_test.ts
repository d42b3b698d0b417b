/**
 * docs/cluster.md shows the files of docs/cluster/ as they are (what a user copies is what
 * tests/slurm_test.ts runs), and the Kubernetes manifests are Jobs that give the worker and merge
 * scripts every variable they require, the workers' Job indexed with KINEMBED_WORKERS =
 * completions. The YAML is read by Python's yaml module, not by this project.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./support/assert.ts";
import { repoPath, tempDir } from "./support/media.ts";
import { ensureFixtureModels } from "../fixtures/make_models.ts";

const DIR = repoPath("docs", "cluster");
const decoder = new TextDecoder();

/** The variables a script stops without (`: "${NAME:?...}"`). */
async function requiredVariables(script: string): Promise<string[]> {
  const text = await Deno.readTextFile(join(DIR, script));
  return [...text.matchAll(/^: "\$\{(\w+):\?/gm)].map((m) => m[1]);
}

interface JobManifest {
  apiVersion: string;
  kind: string;
  spec: {
    completionMode?: string;
    completions?: number;
    parallelism?: number;
    template: {
      spec: {
        restartPolicy: string;
        containers: { command: string[]; env?: { name: string; value: string }[] }[];
      };
    };
  };
}

async function readYaml(file: string): Promise<JobManifest> {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
      file,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, `${file}: ${decoder.decode(out.stderr)}`);
  return JSON.parse(decoder.decode(out.stdout));
}

Deno.test("docs/cluster.md holds every file of docs/cluster/ verbatim", async () => {
  const page = await Deno.readTextFile(repoPath("docs", "cluster.md"));
  const files: string[] = [];
  for await (const e of Deno.readDir(DIR)) if (e.isFile) files.push(e.name);
  assertEquals(files.sort(), [
    "kinembed-array.sbatch",
    "kinembed-job.yaml",
    "kinembed-merge-job.yaml",
    "kinembed-merge.sbatch",
    "submit.sh",
  ]);
  for (const name of files) {
    const text = await Deno.readTextFile(join(DIR, name));
    const lang = name.endsWith(".yaml") ? "yaml" : "bash";
    assert(
      page.includes(`\`docs/cluster/${name}\`:\n\n\`\`\`${lang}\n${text}\`\`\`\n`),
      `docs/cluster.md does not show docs/cluster/${name} as it is`,
    );
  }
});

Deno.test("Kubernetes: an Indexed Job runs the worker script with KINEMBED_WORKERS = completions; the merge Job runs the merge script; each sets the variables its script requires", async () => {
  const jobs = await readYaml(join(DIR, "kinembed-job.yaml"));
  const merge = await readYaml(join(DIR, "kinembed-merge-job.yaml"));
  const envOf = (m: JobManifest) =>
    new Map((m.spec.template.spec.containers[0].env ?? []).map((e) => [e.name, e.value]));
  for (
    const [m, script] of [[jobs, "kinembed-array.sbatch"], [
      merge,
      "kinembed-merge.sbatch",
    ]] as const
  ) {
    assertEquals([m.apiVersion, m.kind], ["batch/v1", "Job"]);
    assertEquals(m.spec.template.spec.restartPolicy, "Never");
    const command = m.spec.template.spec.containers[0].command;
    assertEquals(command[0], "bash");
    assert(command[1].endsWith(`/docs/cluster/${script}`), JSON.stringify(command));
    const env = envOf(m);
    for (const name of await requiredVariables(script)) {
      assert(env.get(name), `${script} requires ${name}; the Job does not set it`);
    }
    assert(command[1].startsWith(env.get("KINEMBED_REPO")! + "/"), "the script of KINEMBED_REPO");
  }
  assertEquals(jobs.spec.completionMode, "Indexed");
  const completions = jobs.spec.completions;
  assert(Number.isInteger(completions) && completions! >= 1, `completions: ${completions}`);
  const parallelism = jobs.spec.parallelism;
  assert(
    Number.isInteger(parallelism) && parallelism! >= 1 && parallelism! <= completions!,
    `parallelism: ${parallelism}`,
  );
  // the worker count: the Job's completions, for the workers and for merge
  assertEquals(envOf(jobs).get("KINEMBED_WORKERS"), String(completions));
  assertEquals(envOf(merge).get("KINEMBED_WORKERS"), String(completions));
  assertEquals(merge.spec.completionMode, undefined);
});

Deno.test("the worker script as a Kubernetes pod: the index is JOB_COMPLETION_INDEX, checked against KINEMBED_WORKERS; a missing variable is named", async () => {
  const { dir, cleanup } = await tempDir();
  try {
    // inputs that pass the checks every task makes first, so the worker index is what is refused
    const { vision } = await ensureFixtureModels(repoPath("fixtures", "models"), "tiny");
    await Deno.writeTextFile(
      join(dir, "train.csv"),
      "label,youtube_id,time_start,time_end,split\nabseiling,aaaaaaaaaaa,0,10,train\n",
    );
    const script = async (env: Record<string, string>) => {
      const out = await new Deno.Command("bash", {
        args: [join(DIR, "kinembed-array.sbatch")],
        // a pod's environment, whatever this process runs in (a Slurm job, say)
        clearEnv: true,
        env: {
          PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
          HOME: Deno.env.get("HOME") ?? dir,
          KINEMBED_REPO: repoPath(),
          KINEMBED_WORK: join(dir, "work"),
          KINEMBED_MODEL: vision,
          KINEMBED_ANNOTATIONS: join(dir, "train.csv"),
          ...env,
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, text: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
    };
    // inputs that exist (they are checked before the worker index)
    await Deno.writeTextFile(
      join(dir, "train.csv"),
      "label,youtube_id,time_start,time_end,split\n",
    );
    await Deno.copyFile(
      (await ensureFixtureModels(repoPath("fixtures", "models"), "tiny")).vision,
      join(dir, "model.onnx"),
    );
    const missing = await script({});
    assertEquals(missing.code, 1, missing.text);
    assert(missing.text.includes("set KINEMBED_WORKERS to the worker count"), missing.text);
    const beyond = await script({ KINEMBED_WORKERS: "4", JOB_COMPLETION_INDEX: "4" });
    assertEquals(beyond.code, 2, beyond.text);
    assert(
      beyond.text.includes(
        "JOB_COMPLETION_INDEX=4 with --workers 4: worker 4 does not exist among 4 workers",
      ),
      beyond.text,
    );
  } finally {
    await cleanup();
  }
});
