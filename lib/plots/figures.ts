/**
 * Plotly figure builders for what the papers show: lines with bands over seeds, box plots by
 * group and method, bars with error bars, tables. They return plain figure JSON
 * (`{data, layout}`); Plotly itself cannot be imported in Deno (../shared/PLATFORM.md), so
 * `figureHtml` writes a page that loads `plotly.js` (from the `plotly.js-dist` package) beside it
 * or inlined, and renders offline.
 *
 * @module
 */

/** A Plotly figure: traces and layout, plain JSON. */
export interface Figure {
  /** Plotly traces. */
  readonly data: Record<string, unknown>[];
  /** Plotly layout. */
  readonly layout: Record<string, unknown>;
}

/** One line, optionally with a band (e.g. mean +- standard error over seeds). */
export interface LineSeries {
  /** Legend name. */
  readonly name: string;
  /** x values. */
  readonly x: readonly number[];
  /** y values. */
  readonly y: readonly number[];
  /** Lower edge of a band around y. */
  readonly lower?: readonly number[];
  /** Upper edge of a band around y. */
  readonly upper?: readonly number[];
  /** Line style. */
  readonly dash?: "solid" | "dash" | "dot";
  /** Line colour (CSS). */
  readonly color?: string;
}

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"];

function baseLayout(title: string, xTitle: string, yTitle: string): Record<string, unknown> {
  return {
    title: { text: title },
    xaxis: { title: { text: xTitle } },
    yaxis: { title: { text: yTitle } },
    template: "plotly_white",
    legend: { orientation: "h", y: -0.2 },
    margin: { t: 60, r: 20, b: 80, l: 70 },
  };
}

/** Lines with optional shaded bands. */
export function lineFigure(title: string, xTitle: string, yTitle: string, series: readonly LineSeries[]): Figure {
  const data: Record<string, unknown>[] = [];
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    if (s.lower && s.upper) {
      data.push({
        type: "scatter",
        x: [...s.x, ...[...s.x].reverse()],
        y: [...s.upper, ...[...s.lower].reverse()],
        fill: "toself",
        fillcolor: color + "33",
        line: { width: 0 },
        hoverinfo: "skip",
        showlegend: false,
        name: `${s.name} band`,
      });
    }
    data.push({
      type: "scatter",
      mode: "lines",
      name: s.name,
      x: s.x,
      y: s.y,
      line: { color, dash: s.dash ?? "solid" },
    });
  });
  return { data, layout: baseLayout(title, xTitle, yTitle) };
}

/** Box plots: one box per (group, method), grouped by group on the x axis. */
export function boxFigure(
  title: string,
  yTitle: string,
  boxes: readonly { method: string; group: string; values: readonly number[] }[],
): Figure {
  const methods = [...new Set(boxes.map((b) => b.method))];
  const data = methods.map((m, i) => {
    const mine = boxes.filter((b) => b.method === m);
    return {
      type: "box",
      name: m,
      x: mine.flatMap((b) => b.values.map(() => b.group)),
      y: mine.flatMap((b) => [...b.values]),
      marker: { color: PALETTE[i % PALETTE.length] },
      boxpoints: false,
    };
  });
  return { data, layout: { ...baseLayout(title, "group", yTitle), boxmode: "group" } };
}

/** Bars with error bars, grouped by category. */
export function barFigure(
  title: string,
  xTitle: string,
  yTitle: string,
  bars: readonly { name: string; x: readonly string[]; y: readonly number[]; error?: readonly number[] }[],
): Figure {
  const data = bars.map((b, i) => ({
    type: "bar",
    name: b.name,
    x: b.x,
    y: b.y,
    marker: { color: PALETTE[i % PALETTE.length] },
    ...(b.error ? { error_y: { type: "data", array: b.error, visible: true } } : {}),
  }));
  return { data, layout: { ...baseLayout(title, xTitle, yTitle), barmode: "group" } };
}

/** Point estimates with (asymmetric) intervals, one marker series per group (e.g. estimator). */
export function intervalFigure(
  title: string,
  xTitle: string,
  yTitle: string,
  series: readonly {
    name: string;
    x: readonly string[];
    y: readonly number[];
    lower: readonly number[];
    upper: readonly number[];
  }[],
): Figure {
  const data = series.map((s, i) => ({
    type: "scatter",
    mode: "markers",
    name: s.name,
    x: s.x,
    y: s.y,
    marker: { color: PALETTE[i % PALETTE.length], size: 9 },
    error_y: {
      type: "data",
      symmetric: false,
      array: s.y.map((y, k) => s.upper[k] - y),
      arrayminus: s.y.map((y, k) => y - s.lower[k]),
      visible: true,
    },
  }));
  return { data, layout: { ...baseLayout(title, xTitle, yTitle), scattermode: "group" } };
}

/** Histogram of raw values, with optional vertical reference lines (e.g. a therapeutic range). */
export function histogramFigure(
  title: string,
  xTitle: string,
  values: ArrayLike<number>,
  lines: readonly { x: number; label: string }[] = [],
  nbins = 30,
): Figure {
  return {
    data: [{ type: "histogram", x: Array.from(values), nbinsx: nbins, marker: { color: PALETTE[0] }, name: xTitle }],
    layout: {
      ...baseLayout(title, xTitle, "count"),
      shapes: lines.map((l) => ({
        type: "line",
        x0: l.x,
        x1: l.x,
        yref: "paper",
        y0: 0,
        y1: 1,
        line: { dash: "dash", color: "#444" },
      })),
      annotations: lines.map((l) => ({
        x: l.x,
        yref: "paper",
        y: 1,
        text: l.label,
        showarrow: false,
        yanchor: "bottom",
      })),
    },
  };
}

/** A table (header + rows of text). */
export function tableFigure(title: string, header: readonly string[], rows: readonly (readonly string[])[]): Figure {
  const columns = header.map((_, j) => rows.map((r) => r[j]));
  return {
    data: [{
      type: "table",
      header: { values: header, align: "left", fill: { color: "#e8eef7" } },
      cells: { values: columns, align: "left" },
    }],
    layout: { title: { text: title }, margin: { t: 60, r: 20, b: 20, l: 20 } },
  };
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/**
 * A standalone HTML page showing `figures`. `plotlySrc` is the script source (default
 * `plotly.js`, a copy beside the page; see `copyPlotly`); pass `inline` with the library's text to
 * embed it (about 4.8 MB).
 */
export function figureHtml(
  title: string,
  figures: readonly Figure[],
  options: { plotlySrc?: string; inline?: string } = {},
): string {
  const script = options.inline !== undefined
    ? `<script>${options.inline}</script>`
    : `<script src="${escapeHtml(options.plotlySrc ?? "plotly.js")}"></script>`;
  const divs = figures.map((_, i) => `<div id="fig${i}" style="width:100%;max-width:960px;height:520px"></div>`);
  const calls = figures.map((f, i) =>
    `Plotly.newPlot("fig${i}", ${scriptJson(f.data)}, ${scriptJson(f.layout)}, {responsive: true});`
  );
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>${script}</head>
<body style="font-family:sans-serif">
<h2>${escapeHtml(title)}</h2>
${divs.join("\n")}
<script>
${calls.join("\n")}
</script>
</body></html>
`;
}

/**
 * JSON safe inside an HTML `<script>` element: every `<` is written `\u003c`, so no string in
 * the data (a label, a title) can close the element or open another.
 *
 * @param value Any JSON-serialisable value.
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

/** Where `plotly.js-dist` keeps the library (installed by `deno install` into node_modules/). */
export function plotlyLibraryUrl(): URL {
  return new URL("../../node_modules/plotly.js-dist/plotly.js", import.meta.url);
}

/**
 * Writes `<dir>/<id>.html` showing `figures`, with a copy of plotly.js beside it (once), so the
 * page renders offline. Returns the page's path.
 */
export async function writeFigureHtml(
  dir: string,
  id: string,
  title: string,
  figures: readonly Figure[],
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const lib = `${dir}/plotly.js`;
  try {
    await Deno.stat(lib);
  } catch {
    try {
      await Deno.copyFile(plotlyLibraryUrl(), `${lib}.tmp-${Deno.pid}`);
      await Deno.rename(`${lib}.tmp-${Deno.pid}`, lib);
    } catch (err) {
      throw new Error(
        `cannot find plotly.js at ${plotlyLibraryUrl().pathname} (${
          (err as Error).message
        }); run \`deno install\` first`,
      );
    }
  }
  const path = `${dir}/${id}.html`;
  await Deno.writeTextFile(`${path}.tmp-${Deno.pid}`, figureHtml(title, figures));
  await Deno.rename(`${path}.tmp-${Deno.pid}`, path);
  return path;
}
