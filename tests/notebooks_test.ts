import assert from "node:assert/strict";
import { runTask } from "./helpers.ts";

const root = new URL("../", import.meta.url).pathname;
const NOTEBOOKS = ["heparin-simulator", "omg-rl", "p4l", "quickstart"];

async function has(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output()).code === 0;
  } catch {
    return false;
  }
}
const jupyter = await has("/usr/bin/python3", ["-c", "import jupyter_client, nbformat, nbconvert"]);
const chromium = await has("/usr/bin/chromium", ["--version"]);
if (!jupyter) console.warn("notebooks_test: Jupyter is missing for /usr/bin/python3; skipping the notebook runs");
if (!chromium) console.warn("notebooks_test: /usr/bin/chromium is missing; skipping the browser check");

Deno.test("every notebook is committed without outputs and its code cells type-check", async () => {
  for (const name of NOTEBOOKS) {
    const nb = JSON.parse(await Deno.readTextFile(`${root}notebooks/${name}.ipynb`));
    for (const c of nb.cells) if (c.cell_type === "code") assert.deepEqual(c.outputs, [], `${name} has outputs`);
    assert.equal(nb.metadata.kernelspec.name, "clinical-rl-deno");
  }
  const r = await runTask("notebooks.ts", ["--check"]);
  assert.equal(r.code, 0, r.stderr);
});

Deno.test({
  name:
    "every notebook runs in quick mode on Deno's kernel, each figure cell displays a Plotly bundle, and HTML is exported",
  ignore: !jupyter,
  fn: async () => {
    const r = await runTask("notebooks.ts", ["--quick"]);
    assert.equal(r.code, 0, r.stderr);
    for (const name of NOTEBOOKS) {
      const nb = JSON.parse(await Deno.readTextFile(`${root}out/notebooks/${name}.ipynb`));
      for (const c of nb.cells) {
        if (c.cell_type !== "code") continue;
        const src = c.source.join("");
        assert.ok(!c.outputs.some((o: { output_type: string }) => o.output_type === "error"), `${name}: ${src}`);
        if (src.includes("showFigures(")) {
          const bundles = c.outputs.filter((o: { output_type: string }) => o.output_type === "display_data");
          assert.ok(bundles.length > 0, `${name}: no display for\n${src}`);
          for (const b of bundles) {
            assert.ok(
              b.data["application/vnd.plotly.v1+json"] || /<table/.test(b.data["text/html"]),
              `${name}: a display without Plotly JSON or a table`,
            );
          }
        }
      }
      const html = await Deno.readTextFile(`${root}notebooks/${name}.html`);
      assert.match(html, /clinical-rl-(plot|table)/);
    }
  },
});

Deno.test({
  name: "an exported notebook draws its Plotly figure in headless Chromium, with the expected traces",
  ignore: !jupyter || !chromium,
  fn: async () => {
    const r = await runTask("notebooks.ts", ["--quick", "--only", "quickstart"]);
    assert.equal(r.code, 0, r.stderr);
    const { chromium: browserType } = await import("playwright-core");
    const browser = await browserType.launch({
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      await page.goto(`file://${root}notebooks/quickstart.html`);
      await page.waitForSelector(".clinical-rl-plot .main-svg", { timeout: 30_000 });
      // (A string: the test is type-checked without the DOM library.)
      const drawn = await page.evaluate(`(() => {
        const div = document.querySelector(".clinical-rl-plot");
        return {
          traces: div.data ? div.data.length : 0,
          bars: document.querySelectorAll(".clinical-rl-plot .barlayer .trace").length,
          points: document.querySelectorAll(".clinical-rl-plot .barlayer .point").length,
        };
      })()`) as { traces: number; bars: number; points: number };
      // Two bar series (FQI and the clinician) over three groups.
      assert.equal(drawn.traces, 2);
      assert.equal(drawn.bars, 2);
      assert.equal(drawn.points, 6);
      await page.screenshot({ path: `${root}notebooks/quickstart.png`, fullPage: true });
      assert.ok((await Deno.stat(`${root}notebooks/quickstart.png`)).size > 10_000);
    } finally {
      await browser.close();
    }
  },
});

Deno.test("a figure's bundle carries Plotly JSON and an offline HTML fallback; tables are HTML; outside a notebook a page is written", async () => {
  const { barFigure, figureBundle, inNotebook, showFigures, tableFigure } = await import("../mod.ts");
  const bar = barFigure("t", "x", "y", [{ name: "a", x: ["p", "q"], y: [1, 2] }]);
  const b = figureBundle(bar);
  assert.deepEqual((b["application/vnd.plotly.v1+json"] as { data: unknown[] }).data, bar.data);
  assert.match(b["text/html"] as string, /Plotly\.newPlot/);
  assert.match(b["text/html"] as string, /src = "plotly\.js"/);
  const t = figureBundle(tableFigure("T", ["h1", "h2"], [["1", "<2>"]]));
  assert.equal(t["application/vnd.plotly.v1+json"], undefined);
  assert.match(t["text/html"] as string, /<th>h1<\/th><th>h2<\/th>/);
  assert.match(t["text/html"] as string, /<td>&lt;2&gt;<\/td>/);
  assert.equal(inNotebook(), false);
  const dir = await Deno.makeTempDir();
  try {
    const page = await showFigures([bar], { dir, id: "x" });
    assert.equal(page, `${dir}/x.html`);
    assert.match(await Deno.readTextFile(page!), /Plotly\.newPlot/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
