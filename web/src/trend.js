// trend.js - the partner page's 180-day health chart (uPlot, vendored by
// web/build under /assets/vendor/uplot/). uPlot is loaded on first use, so the
// leaderboard never waits for it. Background bands show the default RAG
// boundaries (red below 40, green from 70: docs/scoring.md).
import { h, replace } from './dom.js';

const DAY_S = 86400;
let uPlotModule = null;

function loadUPlot() {
  if (!uPlotModule) uPlotModule = import('/assets/vendor/uplot/uPlot.esm.js').then((m) => m.default);
  return uPlotModule;
}

const BANDS = [[0, 40, 'rgba(200,55,59,0.07)'], [40, 70, 'rgba(184,110,0,0.06)'], [70, 100, 'rgba(31,138,76,0.06)']];

function bandsPlugin() {
  return {
    hooks: {
      drawClear: (u) => {
        const { ctx, bbox } = u;
        ctx.save();
        for (const [lo, hi, color] of BANDS) {
          const y1 = u.valToPos(hi, 'y', true), y0 = u.valToPos(lo, 'y', true);
          ctx.fillStyle = color;
          ctx.fillRect(bbox.left, y1, bbox.width, y0 - y1);
        }
        ctx.restore();
      },
    },
  };
}

// renderTrend(el, trend): draw [{day: "YYYY-MM-DD", health}] into el; returns
// a function that tears the chart down
export async function renderTrend(el, trend) {
  const pts = (Array.isArray(trend) ? trend : [])
    .map((p) => [Date.parse(p.day + 'T00:00:00Z') / 1000, Number(p.health)])
    .filter(([t, v]) => Number.isFinite(t) && Number.isFinite(v))
    .sort((a, b) => a[0] - b[0]);
  if (!pts.length) {
    replace(el, h('p', { class: 'muted', text: 'No trend yet: the daemon keeps one point per day for 180 days.' }));
    return () => {};
  }
  let uPlot;
  try {
    uPlot = await loadUPlot();
  } catch (e) {
    replace(el, h('p', { class: 'muted', text: 'The chart library did not load (' + e.message + ').' }));
    return () => {};
  }
  const last = pts[pts.length - 1][0];
  const opts = {
    width: Math.max(300, el.clientWidth || 600),
    height: 220,
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true, range: () => [last - 179 * DAY_S, last] }, y: { range: [0, 100] } },
    axes: [{ stroke: '#6b7384', grid: { stroke: '#eef0f3' } },
           { stroke: '#6b7384', grid: { stroke: '#eef0f3' }, values: (u, vals) => vals.map((v) => v.toFixed(0)) }],
    series: [{ label: 'day', value: (u, v) => (v == null ? '—' : new Date(v * 1000).toISOString().slice(0, 10)) },
             { label: 'health', stroke: '#2f5bd3', width: 2, fill: 'rgba(47,91,211,0.08)',
               points: { show: pts.length < 40 }, value: (u, v) => (v == null ? '—' : v.toFixed(1)) }],
    plugins: [bandsPlugin()],
  };
  replace(el);
  const chart = new uPlot(opts, [pts.map((p) => p[0]), pts.map((p) => p[1])], el);
  const ro = new ResizeObserver(() => {
    const w = Math.max(300, el.clientWidth);
    if (w !== chart.width) chart.setSize({ width: w, height: 220 });
  });
  ro.observe(el);
  return () => { ro.disconnect(); chart.destroy(); };
}
