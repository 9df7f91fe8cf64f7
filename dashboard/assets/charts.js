// Small SVG charts. Sizes are fixed per chart (not by data), so a chart never moves what is
// below it when its data arrives; widths are percentages so they follow the panel.

import { s } from './dom.js';
import { num } from './format.js';

const ROW = 30;

function clip(text, max = 34) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The height a bar chart of `rows` rows takes, for skeletons. */
export function barChartHeight(rows = 7) {
  return rows * ROW;
}

/**
 * Horizontal bars, one per item ({name, count}), biggest first; beyond `rows` the rest is
 * summed into "other". `label` names the chart for screen readers.
 */
export function barChart(items, { label, rows = 7 } = {}) {
  const height = barChartHeight(rows);
  const sorted = [...items].sort((a, b) => b.count - a.count);
  let shown = sorted;
  if (sorted.length > rows) {
    shown = sorted.slice(0, rows - 1);
    const rest = sorted.slice(rows - 1);
    shown.push({ name: `other (${rest.length})`, count: rest.reduce((t, x) => t + x.count, 0) });
  }
  const total = shown.reduce((t, x) => t + x.count, 0);
  const max = Math.max(1, ...shown.map((x) => x.count));
  const summary = shown.length ? shown.map((x) => `${x.name} ${x.count}`).join(', ') : 'no sessions';
  const svg = s('svg', { role: 'img', 'aria-label': `${label}: ${summary}`, width: '100%', height, class: 'bars' });
  if (!shown.length) {
    svg.append(s('text', { x: '50%', y: height / 2, 'text-anchor': 'middle', class: 'empty', text: 'No sessions' }));
    return svg;
  }
  shown.forEach((item, i) => {
    const y = i * ROW;
    const pct = total ? Math.round((item.count / total) * 100) : 0;
    const g = s('g', { class: 'bar-row', 'data-name': item.name, 'data-count': item.count });
    g.append(
      s('title', { text: `${item.name}: ${item.count} (${pct}%)` }),
      s('text', { x: 0, y: y + 12, text: clip(item.name) }),
      s('text', { x: '100%', y: y + 12, 'text-anchor': 'end', class: 'bar-label', text: `${num(item.count)} · ${pct}%` }),
      s('rect', { x: 0, y: y + 17, width: '100%', height: 9, rx: 3, class: 'c6', 'fill-opacity': 0.15 }),
      s('rect', { x: 0, y: y + 17, width: `${(item.count / max) * 100}%`, height: 9, rx: 3, class: `c${(i % 5) + 1}` }),
    );
    svg.append(g);
  });
  return svg;
}

export const COLUMN_CHART_HEIGHT = 210;

/** One column per day ({date: 'YYYY-MM-DD', count}), oldest on the left. */
export function columnChart(days, { label } = {}) {
  const height = COLUMN_CHART_HEIGHT;
  const top = 18;
  const bottom = 24;
  const plot = height - top - bottom;
  const max = Math.max(1, ...days.map((d) => d.count));
  const total = days.reduce((t, d) => t + d.count, 0);
  const busiest = days.reduce((b, d) => (d.count > (b?.count ?? -1) ? d : b), null);
  const summary = days.length
    ? `${total} sessions over ${days.length} days, from ${days[0].date} to ${days[days.length - 1].date}; busiest ${busiest.date} with ${busiest.count}`
    : 'no data';
  const svg = s('svg', { role: 'img', 'aria-label': `${label}: ${summary}`, width: '100%', height, class: 'columns' });
  svg.append(
    s('text', { x: 0, y: 12, class: 'bar-label', text: `max ${num(max)} per day` }),
    s('line', { x1: 0, x2: '100%', y1: top, y2: top, class: 'axis', stroke: 'currentColor', 'stroke-dasharray': '3 3', 'stroke-opacity': 0.35 }),
    s('line', { x1: 0, x2: '100%', y1: top + plot, y2: top + plot, class: 'axis', stroke: 'currentColor', 'stroke-opacity': 0.35 }),
  );
  const n = Math.max(1, days.length);
  const slot = 100 / n;
  days.forEach((d, i) => {
    const hgt = d.count ? Math.max(2, (d.count / max) * plot) : 0;
    svg.append(
      s('rect', {
        x: `${i * slot + slot * 0.14}%`,
        y: top + plot - hgt,
        width: `${slot * 0.72}%`,
        height: hgt,
        rx: 2,
        class: 'c1',
        'data-date': d.date,
        'data-count': d.count,
      }, s('title', { text: `${d.date}: ${d.count}` })),
    );
  });
  if (days.length) {
    const labelAt = (i, anchor) =>
      s('text', { x: `${anchor === 'start' ? 0 : anchor === 'end' ? 100 : (i + 0.5) * slot}%`, y: height - 6, 'text-anchor': anchor, class: 'bar-label', text: days[i].date.slice(5) });
    svg.append(labelAt(0, 'start'), labelAt(Math.floor(days.length / 2), 'middle'), labelAt(days.length - 1, 'end'));
  }
  return svg;
}
