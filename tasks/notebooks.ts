/**
 * Executes every notebook in notebooks/ headlessly on Deno's Jupyter kernel and exports HTML next
 * to them; or type-checks their code cells.
 *
 *   deno task notebooks [--quick] [--only name] [--check]
 *
 * Needs Jupyter from Debian (`apt-get install -y jupyter-nbconvert python3-nbclient
 * python3-ipykernel jupyter-client`; its scripts run on /usr/bin/python3). The kernelspec lives
 * in the project (notebooks/.jupyter, JUPYTER_PATH), so nothing is written to the home
 * directory. Cells run through tasks/notebook_executor.py, which waits for each cell's reply
 * and keeps reading outputs after the kernel says idle (Deno's kernel can report a cell finished
 * before its last output arrives; ../shared/PLATFORM.md). Any cell error fails the run, naming
 * the notebook and cell. The executed notebooks go to out/notebooks/ (the committed ones stay
 * without outputs), the HTML to notebooks/<name>.html with plotly.js beside it, so figures
 * render offline. --quick sets CLINICAL_RL_QUICK=1 (CI sizes). --check extracts each
 * notebook's code cells to a TypeScript file and runs `deno check` on it.
 */
import { parseCli } from "./cli.ts";
import { plotlyLibraryUrl } from "../mod.ts";

const USAGE = "usage: deno task notebooks [--quick] [--only name] [--check]";
const { values } = parseCli("notebooks", USAGE, {
  options: {
    quick: { type: "boolean", default: false },
    check: { type: "boolean", default: false },
    only: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const root = new URL("../", import.meta.url).pathname;
const dir = `${root}notebooks`;
const names: string[] = [];
for await (const e of Deno.readDir(dir)) if (e.isFile && e.name.endsWith(".ipynb")) names.push(e.name.slice(0, -6));
names.sort();
const chosen = values.only ? names.filter((n) => n === values.only) : names;
if (chosen.length === 0) {
  console.error(`notebooks: no notebook ${values.only ? `named ${values.only}` : "found"} in ${dir}\n${USAGE}`);
  Deno.exit(2);
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  const p = new Deno.Command(cmd, { args, env, stdout: "inherit", stderr: "inherit" }).spawn();
  return (await p.status).code;
}

if (values.check) {
  // Each notebook's code cells, in order, as one module beside it (so "../mod.ts" resolves).
  let failed = 0;
  for (const name of chosen) {
    const nb = JSON.parse(await Deno.readTextFile(`${dir}/${name}.ipynb`));
    const code = nb.cells
      .filter((c: { cell_type: string }) => c.cell_type === "code")
      .map((c: { source: string[] | string }, k: number) =>
        `// ---- cell ${k}\n${Array.isArray(c.source) ? c.source.join("") : c.source}`
      )
      .join("\n\n");
    const file = `${dir}/_check_${name}.ts`;
    await Deno.writeTextFile(
      file,
      `// Extracted from ${name}.ipynb by deno task notebooks --check.\n${code}\nexport {};\n`,
    );
    try {
      const code = await run(Deno.execPath(), ["check", "-q", file]);
      console.error(`notebooks: ${name}: type check ${code === 0 ? "ok" : "FAILED"}`);
      if (code !== 0) failed++;
    } finally {
      await Deno.remove(file);
    }
  }
  Deno.exit(failed > 0 ? 1 : 0);
}

const python = "/usr/bin/python3";
const probe = await new Deno.Command(python, {
  args: ["-c", "import jupyter_client, nbformat, nbconvert"],
  stdout: "null",
  stderr: "null",
}).output().catch(() => ({ code: 127 }));
if (probe.code !== 0) {
  console.error(
    "notebooks: Jupyter is not installed for /usr/bin/python3; on Debian: " +
      "apt-get install -y jupyter-nbconvert python3-nbclient python3-ipykernel jupyter-client",
  );
  Deno.exit(1);
}
// The project's kernelspec: this Deno, without colour codes.
const jupyterPath = `${dir}/.jupyter`;
const kernelName = "clinical-rl-deno";
await Deno.mkdir(`${jupyterPath}/kernels/${kernelName}`, { recursive: true });
await Deno.writeTextFile(
  `${jupyterPath}/kernels/${kernelName}/kernel.json`,
  JSON.stringify(
    {
      argv: [Deno.execPath(), "jupyter", "--kernel", "--conn", "{connection_file}"],
      display_name: "Deno (clinical-rl)",
      language: "typescript",
      env: { NO_COLOR: "1" },
    },
    null,
    2,
  ),
);
await Deno.copyFile(plotlyLibraryUrl(), `${dir}/plotly.js`);
const outDir = `${root}out/notebooks`;
await Deno.mkdir(outDir, { recursive: true });
const env = {
  JUPYTER_PATH: jupyterPath,
  JUPYTER_DATA_DIR: `${jupyterPath}/data`,
  JUPYTER_RUNTIME_DIR: `${jupyterPath}/runtime`,
  JUPYTER_CONFIG_DIR: `${jupyterPath}/config`,
  IPYTHONDIR: `${jupyterPath}/ipython`,
  CLINICAL_RL_QUICK: values.quick ? "1" : "0",
};
let failed = 0;
for (const name of chosen) {
  const started = performance.now();
  console.error(`notebooks: ${name} (${values.quick ? "quick" : "full"})`);
  const executed = `${outDir}/${name}.ipynb`;
  const code = await run(
    python,
    [`${root}tasks/notebook_executor.py`, `${dir}/${name}.ipynb`, executed, kernelName],
    env,
  );
  if (code !== 0) {
    failed++;
    console.error(`notebooks: ${name} FAILED (the partial run is in ${executed})`);
    continue;
  }
  const html = await run(python, [
    "-m",
    "nbconvert",
    "--to",
    "html",
    "--log-level",
    "WARN",
    executed,
    "--output-dir",
    dir,
  ], env);
  if (html !== 0) failed++;
  console.error(
    `notebooks: ${name} done in ${((performance.now() - started) / 1000).toFixed(0)} s -> ${dir}/${name}.html`,
  );
}
Deno.exit(failed > 0 ? 1 : 0);
