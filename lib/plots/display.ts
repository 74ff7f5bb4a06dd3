/**
 * Showing figures where the user is: in a Jupyter notebook on Deno's kernel, as a MIME bundle
 * carrying `application/vnd.plotly.v1+json` (JupyterLab's and VS Code's Plotly renderers) and a
 * `text/html` fallback (a div and a `Plotly.newPlot` call) that nbconvert's HTML export keeps, so
 * exported notebooks render offline with `plotly.js` beside them (`deno task notebooks` puts it
 * there); tables display as plain HTML tables. Outside a notebook the same call writes a
 * standalone page (`writeFigureHtml`) and prints its path.
 *
 * @module
 */
import { escapeHtml, type Figure, scriptJson, writeFigureHtml } from "./figures.ts";

/** A MIME bundle, as Jupyter's display_data carries it. */
export type MimeBundle = Record<string, unknown>;

function isTable(figure: Figure): boolean {
  return figure.data.length === 1 && figure.data[0].type === "table";
}

/** An HTML table of a `tableFigure` (header and cell columns). */
export function tableHtml(figure: Figure): string {
  const t = figure.data[0] as { header: { values: string[] }; cells: { values: string[][] } };
  const title = (figure.layout.title as { text?: string } | undefined)?.text ?? "";
  const rows = t.cells.values[0]?.length ?? 0;
  const body = Array.from(
    { length: rows },
    (_, i) => `<tr>${t.cells.values.map((col) => `<td>${escapeHtml(String(col[i]))}</td>`).join("")}</tr>`,
  ).join("\n");
  return `<table class="clinical-rl-table">${title ? `<caption>${escapeHtml(title)}</caption>` : ""}\n<thead><tr>${
    t.header.values.map((h) => `<th>${escapeHtml(String(h))}</th>`).join("")
  }</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
}

let divCounter = 0;

/**
 * The MIME bundle of one figure: Plotly JSON plus an HTML fallback that loads `plotlySrc`
 * (default `plotly.js`, beside the exported page) once per page; a table is HTML only.
 */
export function figureBundle(figure: Figure, options: { plotlySrc?: string } = {}): MimeBundle {
  if (isTable(figure)) return { "text/html": tableHtml(figure), "text/plain": tableHtml(figure) };
  const id = `clinical-rl-plot-${Date.now().toString(36)}-${divCounter++}`;
  const src = options.plotlySrc ?? "plotly.js";
  const json = scriptJson({ data: figure.data, layout: figure.layout });
  const html = `<div id="${id}" class="clinical-rl-plot" style="width:100%;height:460px"></div>
<script>
(function () {
  var draw = function () { Plotly.newPlot("${id}", ${json}.data, ${json}.layout, { responsive: true }); };
  if (window.Plotly) { draw(); return; }
  var s = document.querySelector('script[data-clinical-rl-plotly]');
  if (!s) {
    s = document.createElement("script");
    s.src = ${JSON.stringify(src)};
    s.setAttribute("data-clinical-rl-plotly", "1");
    document.head.appendChild(s);
  }
  s.addEventListener("load", draw);
})();
</script>`;
  const title = (figure.layout.title as { text?: string } | undefined)?.text ?? "figure";
  return {
    "application/vnd.plotly.v1+json": { data: figure.data, layout: figure.layout },
    "text/html": html,
    "text/plain": `<Plotly figure: ${title}>`,
  };
}

type Jupyter = { display(bundle: MimeBundle, options: { raw: boolean }): Promise<void> };

function jupyter(): Jupyter | null {
  try {
    // Outside the kernel even reading Deno.jupyter throws.
    const j = (Deno as unknown as { jupyter?: Jupyter }).jupyter;
    return j && typeof j.display === "function" ? j : null;
  } catch {
    return null;
  }
}

/** Whether this code runs in a Jupyter kernel. */
export function inNotebook(): boolean {
  return jupyter() !== null;
}

/**
 * Shows `figures`: displayed in a notebook; outside one, written to `<dir>/<id>.html` (default
 * `out/figures`) with the path printed. Returns the page's path outside a notebook, else null.
 */
export async function showFigures(
  figures: Figure | readonly Figure[],
  options: { id?: string; title?: string; dir?: string; plotlySrc?: string } = {},
): Promise<string | null> {
  const list = Array.isArray(figures) ? figures as readonly Figure[] : [figures as Figure];
  const j = jupyter();
  if (j) {
    for (const f of list) await j.display(figureBundle(f, options), { raw: true });
    return null;
  }
  const title = options.title ?? ((list[0]?.layout.title as { text?: string } | undefined)?.text ?? "figures");
  const id = options.id ?? (title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "figures");
  const page = await writeFigureHtml(options.dir ?? "out/figures", id, title, list);
  console.log(`figures: wrote ${page}`);
  return page;
}
