import { describe, expect, it } from '@jest/globals';
import { renderBarChart, type BarChart } from './plot-svg.js';

const chart: BarChart = {
  title: 'CPU & memory',
  series: [
    { name: 'promfleet', color: '#1f5fa8' },
    { name: 'vmagent', color: '#e6780a' },
  ],
  panels: [
    {
      title: 'µs per sample',
      format: (y) => y.toFixed(2),
      groups: [
        { label: 's1', values: [4, 2] },
        { label: 's2', values: [undefined, 1] },
      ],
      references: [],
    },
    { title: 'bytes per series', format: (y) => y.toFixed(0), groups: [{ label: 's1', values: [800, 400] }], references: [{ y: 1024, short: '1 KB', label: 'goal < 1 KB' }] },
  ],
  footnotes: ['medians of 2 runs'],
};

/** The bars of a rendered chart: [x, y, height, fill]. */
function bars(svg: string): [number, number, number, string][] {
  return [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="30" height="([\d.]+)" fill="(#\w+)"\/>/g)].map((m) => [Number(m[1]), Number(m[2]), Number(m[3]), m[4] as string]);
}

describe('renderBarChart', () => {
  const svg = renderBarChart(chart);

  it('is one SVG document, the same bytes every time, its text escaped', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('>CPU &amp; memory<');
    expect(renderBarChart(chart)).toBe(svg);
  });

  it('draws a bar per defined value, heights in proportion within a panel, each labelled with its value', () => {
    const drawn = bars(svg);
    expect(drawn.map(([, , , fill]) => fill)).toEqual(['#1f5fa8', '#e6780a', '#e6780a', '#1f5fa8', '#e6780a']);
    const [s1ours, s1theirs, s2theirs, bytesOurs, bytesTheirs] = drawn.map(([, , height]) => height);
    expect(s1ours).toBeCloseTo(2 * (s1theirs ?? 0), 0);
    expect(s1theirs).toBeCloseTo(2 * (s2theirs ?? 0), 0);
    expect(bytesOurs).toBeCloseTo(2 * (bytesTheirs ?? 0), 0);
    // Every bar stands on the same baseline.
    expect(new Set(drawn.map(([, y, height]) => Math.round(y + height))).size).toBe(1);
    for (const label of ['>4.00<', '>2.00<', '>1.00<', '>800<', '>400<']) expect(svg).toContain(label);
  });

  it('scales a panel to hold its reference lines, drawn dashed behind the bars, and shows legend and footnotes', () => {
    const [, , bytesOurs] = bars(svg)[3] ?? [];
    // The bytes panel's axis holds the 1,024 goal above 800: ticks of 500 up to 1,500, over the full height, 260.
    expect(bytesOurs).toBeCloseTo((800 / 1500) * 260, 0);
    expect(svg).toContain('>1500<');
    // Across the panel with its short label, and in the legend with its long one.
    expect(svg).toMatch(/<line x1="[\d.]+" y1="([\d.]+)" x2="[\d.]+" y2="\1" stroke="#c00" stroke-dasharray="6 4"\/>\n<text [^>]*>1 KB</);
    expect(svg).toMatch(/<line [^>]*stroke="#c00" stroke-dasharray="6 4"\/>\n<text [^>]*>goal &lt; 1 KB</);
    expect(svg.indexOf('stroke-dasharray="6 4"')).toBeLessThan(svg.indexOf('fill="#1f5fa8"/>', svg.indexOf('bytes per series')));
    for (const text of ['>promfleet<', '>vmagent<', '>medians of 2 runs<', '>s1<', '>s2<']) expect(svg).toContain(text);
  });
});

describe('the legend', () => {
  it('starts a new row when the names do not fit across the chart', () => {
    const many: BarChart = { ...chart, series: Array.from({ length: 8 }, (_, i) => ({ name: `collector number ${i}`, color: '#123456' })) };
    const rows = new Set([...renderBarChart(many).matchAll(/<rect x="[\d.]+" y="([\d.]+)" width="14" height="14"/g)].map((m) => m[1]));
    expect(rows.size).toBeGreaterThan(1);
    expect(new Set([...renderBarChart(chart).matchAll(/<rect x="[\d.]+" y="([\d.]+)" width="14" height="14"/g)].map((m) => m[1])).size).toBe(1);
  });
});
