/**
 * Small SVG charts for the docs' plots: line charts (panels side by side sharing an x axis of small integers) and bar
 * charts (panels of grouped bars), each with one legend, a title and footnotes. No dependencies and no scripts, so
 * the file renders on GitHub and in any browser, and the same input always gives the same bytes (the file is
 * committed and regenerated).
 */

/** One line of a panel. Hollow markers are derived points, filled ones measured. */
export interface Line {
  readonly name: string;
  readonly color: string;
  readonly dash: string | undefined;
  readonly points: readonly { readonly x: number; readonly y: number; readonly measured: boolean }[];
}

export interface Panel {
  readonly title: string;
  readonly xLabel: string;
  /** Formats a y value for the tick labels and the value at each line's end. */
  readonly format: (y: number) => string;
  readonly lines: readonly Line[];
}

export interface Chart {
  readonly title: string;
  readonly panels: readonly Panel[];
  readonly footnotes: readonly string[];
}

const panelWidth = 400;
const panelHeight = 260;
const margin = { left: 70, right: 60, top: 70, between: 110 };
const legendHeight = 30;
const footnoteHeight = 18;

/** Escapes text for an SVG text node or attribute. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A tick step of 1, 2 or 5 × 10^k giving about `ticks` steps up to `max`. */
export function niceStep(max: number, ticks: number): number {
  if (!(max > 0)) return 1;
  const raw = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const scaled = raw / magnitude;
  const nice = scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10;
  return nice * magnitude;
}

const num = (v: number): string => (Math.round(v * 10) / 10).toString();

function panelSvg(panel: Panel, originX: number): string[] {
  const out: string[] = [];
  const xs = panel.lines.flatMap((l) => l.points.map((p) => p.x));
  const ys = panel.lines.flatMap((l) => l.points.map((p) => p.y));
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const step = niceStep(Math.max(...ys), 5);
  const yMax = Math.ceil(Math.max(...ys) / step) * step;
  const px = (x: number): number => originX + ((x - xMin) / (xMax - xMin || 1)) * panelWidth;
  const py = (y: number): number => margin.top + panelHeight - (y / (yMax || 1)) * panelHeight;
  const bottom = margin.top + panelHeight;

  out.push(`<text x="${num(originX + panelWidth / 2)}" y="${margin.top - 14}" text-anchor="middle" font-weight="bold">${escapeXml(panel.title)}</text>`);
  for (let y = 0; y <= yMax + step / 2; y += step) {
    out.push(`<line x1="${num(originX)}" y1="${num(py(y))}" x2="${num(originX + panelWidth)}" y2="${num(py(y))}" stroke="#ddd"/>`);
    out.push(`<text x="${num(originX - 8)}" y="${num(py(y) + 4)}" text-anchor="end" fill="#444">${escapeXml(panel.format(y))}</text>`);
  }
  const xStep = Math.max(1, niceStep(xMax - xMin, 10));
  for (let x = xMin; x <= xMax; x += xStep) {
    out.push(`<line x1="${num(px(x))}" y1="${bottom}" x2="${num(px(x))}" y2="${bottom + 5}" stroke="#444"/>`);
    out.push(`<text x="${num(px(x))}" y="${bottom + 20}" text-anchor="middle" fill="#444">${x}</text>`);
  }
  out.push(`<line x1="${num(originX)}" y1="${bottom}" x2="${num(originX + panelWidth)}" y2="${bottom}" stroke="#444"/>`);
  out.push(`<line x1="${num(originX)}" y1="${margin.top}" x2="${num(originX)}" y2="${bottom}" stroke="#444"/>`);
  out.push(`<text x="${num(originX + panelWidth / 2)}" y="${bottom + 42}" text-anchor="middle">${escapeXml(panel.xLabel)}</text>`);

  for (const line of panel.lines) {
    const path = line.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${num(px(p.x))},${num(py(p.y))}`).join(' ');
    const dash = line.dash === undefined ? '' : ` stroke-dasharray="${line.dash}"`;
    out.push(`<path d="${path}" fill="none" stroke="${line.color}" stroke-width="2.5"${dash}/>`);
    for (const p of line.points) {
      const fill = p.measured ? line.color : '#fff';
      out.push(`<circle cx="${num(px(p.x))}" cy="${num(py(p.y))}" r="3.5" fill="${fill}" stroke="${line.color}" stroke-width="1.5"/>`);
    }
    const last = line.points[line.points.length - 1];
    if (last !== undefined) {
      out.push(`<text x="${num(px(last.x) + 8)}" y="${num(py(last.y) + 4)}" fill="${line.color}" font-weight="bold">${escapeXml(panel.format(last.y))}</text>`);
    }
  }
  return out;
}

/** The chart as a standalone SVG document. */
export function renderChart(chart: Chart): string {
  const width = margin.left + chart.panels.length * panelWidth + (chart.panels.length - 1) * margin.between + margin.right;
  const legendTop = margin.top + panelHeight + 62;
  const footTop = legendTop + legendHeight + 8;
  const height = footTop + chart.footnotes.length * footnoteHeight + 10;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="26" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  chart.panels.forEach((panel, i) => out.push(...panelSvg(panel, margin.left + i * (panelWidth + margin.between))));
  const legendLines = chart.panels[0]?.lines ?? [];
  const slot = (width - 2 * margin.left) / Math.max(1, legendLines.length);
  legendLines.forEach((line, i) => {
    const x = margin.left + i * slot;
    const dash = line.dash === undefined ? '' : ` stroke-dasharray="${line.dash}"`;
    out.push(`<line x1="${num(x)}" y1="${legendTop}" x2="${num(x + 34)}" y2="${legendTop}" stroke="${line.color}" stroke-width="2.5"${dash}/>`);
    out.push(`<text x="${num(x + 42)}" y="${legendTop + 4}">${escapeXml(line.name)}</text>`);
  });
  chart.footnotes.forEach((note, i) => {
    out.push(`<text x="${margin.left}" y="${footTop + i * footnoteHeight + 12}" font-size="11.5" fill="#444">${escapeXml(note)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** One kind of bar of a bar chart: the same colour in every group and panel, and one legend entry. */
export interface BarSeries {
  readonly name: string;
  readonly color: string;
}

/** A group of bars side by side under one x label, one value per series (undefined: no bar). */
export interface BarGroup {
  readonly label: string;
  readonly values: readonly (number | undefined)[];
}

/** A dashed horizontal line across a bar panel, e.g. a goal: `short` beside its right end, `label` in the legend. */
export interface ReferenceLine {
  readonly y: number;
  readonly short: string;
  readonly label: string;
}

export interface BarPanel {
  readonly title: string;
  /** Formats a y value for the tick labels and the value above each bar. */
  readonly format: (y: number) => string;
  readonly groups: readonly BarGroup[];
  readonly references: readonly ReferenceLine[];
}

export interface BarChart {
  readonly title: string;
  readonly series: readonly BarSeries[];
  readonly panels: readonly BarPanel[];
  readonly footnotes: readonly string[];
}

/** An upper bound of the width of one character of legend text (13 px Helvetica), for laying the legend out. */
const legendCharWidth = 7.5;
const barWidth = 30;
const barGap = 4;
const groupGap = 36;

function barPanelWidth(panel: BarPanel, seriesCount: number): number {
  return Math.max(240, panel.groups.length * (seriesCount * (barWidth + barGap) + groupGap) + groupGap);
}

function barPanelSvg(panel: BarPanel, seriesList: readonly BarSeries[], originX: number): string[] {
  const out: string[] = [];
  const width = barPanelWidth(panel, seriesList.length);
  const ys = [...panel.groups.flatMap((g) => g.values.filter((v): v is number => v !== undefined)), ...panel.references.map((r) => r.y)];
  const step = niceStep(Math.max(0, ...ys), 5);
  const yMax = Math.ceil(Math.max(0, ...ys) / step) * step || step;
  const py = (y: number): number => margin.top + panelHeight - (y / yMax) * panelHeight;
  const bottom = margin.top + panelHeight;

  out.push(`<text x="${num(originX + width / 2)}" y="${margin.top - 14}" text-anchor="middle" font-weight="bold">${escapeXml(panel.title)}</text>`);
  for (let y = 0; y <= yMax + step / 2; y += step) {
    out.push(`<line x1="${num(originX)}" y1="${num(py(y))}" x2="${num(originX + width)}" y2="${num(py(y))}" stroke="#ddd"/>`);
    out.push(`<text x="${num(originX - 8)}" y="${num(py(y) + 4)}" text-anchor="end" fill="#444">${escapeXml(panel.format(y))}</text>`);
  }
  // Behind the bars.
  for (const reference of panel.references) {
    out.push(`<line x1="${num(originX)}" y1="${num(py(reference.y))}" x2="${num(originX + width)}" y2="${num(py(reference.y))}" stroke="#c00" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${num(originX + width + 4)}" y="${num(py(reference.y) + 4)}" font-size="11" fill="#c00">${escapeXml(reference.short)}</text>`);
  }
  panel.groups.forEach((group, g) => {
    const groupX = originX + groupGap + g * (seriesList.length * (barWidth + barGap) + groupGap);
    group.values.forEach((value, s) => {
      const series = seriesList[s];
      if (value === undefined || series === undefined) return;
      const x = groupX + s * (barWidth + barGap);
      out.push(`<rect x="${num(x)}" y="${num(py(value))}" width="${barWidth}" height="${num(bottom - py(value))}" fill="${series.color}"/>`);
      out.push(
        `<text x="${num(x + barWidth / 2)}" y="${num(py(value) - 4)}" text-anchor="middle" font-size="10.5" fill="#222">${escapeXml(panel.format(value))}</text>`,
      );
    });
    const centre = groupX + (seriesList.length * (barWidth + barGap) - barGap) / 2;
    out.push(`<text x="${num(centre)}" y="${bottom + 20}" text-anchor="middle" fill="#222">${escapeXml(group.label)}</text>`);
  });
  out.push(`<line x1="${num(originX)}" y1="${bottom}" x2="${num(originX + width)}" y2="${bottom}" stroke="#444"/>`);
  out.push(`<line x1="${num(originX)}" y1="${margin.top}" x2="${num(originX)}" y2="${bottom}" stroke="#444"/>`);
  return out;
}

/** A bar chart (panels side by side, each with groups of bars) as a standalone SVG document; same input, same bytes. */
export function renderBarChart(chart: BarChart): string {
  const widths = chart.panels.map((panel) => barPanelWidth(panel, chart.series.length));
  const width = margin.left + widths.reduce((a, b) => a + b, 0) + (chart.panels.length - 1) * margin.between + margin.right;
  // The legend: the series' swatches, then the reference lines', left to right, a new row when one is full.
  const entries = [
    ...chart.series.map((series) => ({ name: series.name, swatch: `fill="${series.color}"`, line: false })),
    ...chart.panels.flatMap((panel) => panel.references).map((reference) => ({ name: reference.label, swatch: 'stroke="#c00" stroke-dasharray="6 4"', line: true })),
  ];
  const legendWidth = width - 2 * margin.left;
  const placed: { x: number; row: number; entry: (typeof entries)[number] }[] = [];
  let cursor = 0;
  let row = 0;
  for (const entry of entries) {
    const entryWidth = 20 + entry.name.length * legendCharWidth + 28;
    if (cursor > 0 && cursor + entryWidth > legendWidth) {
      row++;
      cursor = 0;
    }
    placed.push({ x: margin.left + cursor, row, entry });
    cursor += entryWidth;
  }
  const legendTop = margin.top + panelHeight + 52;
  const footTop = legendTop + (row + 1) * legendHeight + 8;
  const height = footTop + chart.footnotes.length * footnoteHeight + 10;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="${width / 2}" y="26" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(chart.title)}</text>`,
  ];
  let originX = margin.left;
  chart.panels.forEach((panel, i) => {
    out.push(...barPanelSvg(panel, chart.series, originX));
    originX += (widths[i] ?? 0) + margin.between;
  });
  for (const { x, row: entryRow, entry } of placed) {
    const y = legendTop + entryRow * legendHeight;
    out.push(entry.line ? `<line x1="${num(x)}" y1="${y}" x2="${num(x + 14)}" y2="${y}" ${entry.swatch}/>` : `<rect x="${num(x)}" y="${y - 7}" width="14" height="14" ${entry.swatch}/>`);
    out.push(`<text x="${num(x + 20)}" y="${y + 4}">${escapeXml(entry.name)}</text>`);
  }
  chart.footnotes.forEach((note, i) => {
    out.push(`<text x="${margin.left}" y="${footTop + i * footnoteHeight + 12}" font-size="11.5" fill="#444">${escapeXml(note)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
