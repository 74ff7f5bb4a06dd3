/**
 * Figures as Plotly JSON built in TypeScript (lines, boxes, bars, intervals, histograms, tables),
 * offline HTML pages, and display in Jupyter (a MIME bundle with an HTML fallback).
 *
 * @example A line figure and its offline page
 * ```ts
 * import { figureHtml, lineFigure } from "./plots.ts";
 * import assert from "node:assert/strict";
 * const fig = lineFigure("Returns", "episode", "return", [{ name: "policy", x: [1, 2], y: [0.1, 0.4] }]);
 * assert.match(figureHtml("Returns", [fig], { plotlySrc: "plotly.min.js" }), /Plotly.newPlot/);
 * ```
 *
 * @module
 */
export {
  barFigure,
  boxFigure,
  type Figure,
  figureHtml,
  histogramFigure,
  intervalFigure,
  lineFigure,
  type LineSeries,
  plotlyLibraryUrl,
  scriptJson,
  tableFigure,
  writeFigureHtml,
} from "./lib/plots/figures.ts";
export { figureBundle, inNotebook, type MimeBundle, showFigures, tableHtml } from "./lib/plots/display.ts";
