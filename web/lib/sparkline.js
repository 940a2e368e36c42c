// A small inline SVG trend line of closing prices, coloured by its direction.

import { svg } from './dom.js';
import { direction, percent } from './format.js';

const WIDTH = 100;
const HEIGHT = 28;

export function sparkline(values, period) {
  const points = values.filter((value) => Number.isFinite(value));
  if (points.length < 2) return svg('svg', { class: 'sparkline', 'aria-hidden': 'true', viewBox: `0 0 ${WIDTH} ${HEIGHT}` });
  const low = Math.min(...points);
  const high = Math.max(...points);
  const span = high - low || 1;
  const step = WIDTH / (points.length - 1);
  const path = points
    .map((value, i) => `${(i * step).toFixed(2)},${(HEIGHT - 2 - ((value - low) / span) * (HEIGHT - 4)).toFixed(2)}`)
    .join(' ');
  const first = points[0];
  const last = points[points.length - 1];
  const moved = ((last - first) / first) * 100;
  const trend = direction(moved);
  return svg(
    'svg',
    {
      class: `sparkline ${trend}`,
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      preserveAspectRatio: 'none',
      role: 'img',
      'aria-label': `${period} trend ${percent(moved)}`,
      dataset: { points: String(points.length) },
    },
    svg('polyline', { points: path, fill: 'none', 'vector-effect': 'non-scaling-stroke' }),
  );
}
