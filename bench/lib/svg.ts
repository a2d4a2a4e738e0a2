// A small line chart as SVG (no dependencies): latency percentiles against load, one series per
// line. Pure: data in, SVG text out.
export interface Series { name: string; color: string; dashed?: boolean; points: Array<{ x: number; y: number }> }

export function lineChart(options: { title: string; xLabel: string; yLabel: string; series: Series[]; width?: number; height?: number; logY?: boolean }): string {
  const width = options.width ?? 760;
  const height = options.height ?? 420;
  const margin = { left: 70, right: 200, top: 40, bottom: 55 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const all = options.series.flatMap((s) => s.points);
  const xMax = Math.max(...all.map((p) => p.x)) * 1.05 || 1;
  const yRaw = all.map((p) => p.y).filter((y) => Number.isFinite(y) && y > 0);
  const logY = options.logY ?? false;
  const yMin = logY ? Math.pow(10, Math.floor(Math.log10(Math.min(...yRaw)))) : 0;
  const yMax = logY ? Math.pow(10, Math.ceil(Math.log10(Math.max(...yRaw)))) : Math.max(...yRaw) * 1.1 || 1;
  const sx = (x: number) => margin.left + (x / xMax) * plotW;
  const sy = (y: number) => {
    const f = logY ? (Math.log10(Math.max(y, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin)) : y / yMax;
    return margin.top + plotH - f * plotH;
  };
  const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${margin.left}" y="22" font-size="15" font-weight="bold">${esc(options.title)}</text>`,
    `<line x1="${margin.left}" y1="${margin.top + plotH}" x2="${margin.left + plotW}" y2="${margin.top + plotH}" stroke="#333"/>`,
    `<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${margin.top + plotH}" stroke="#333"/>`,
  ];
  const yTicks = logY
    ? Array.from({ length: Math.round(Math.log10(yMax / yMin)) + 1 }, (_, i) => yMin * 10 ** i)
    : Array.from({ length: 6 }, (_, i) => (yMax * i) / 5);
  for (const t of yTicks) {
    parts.push(`<line x1="${margin.left}" y1="${sy(t)}" x2="${margin.left + plotW}" y2="${sy(t)}" stroke="#ddd"/>`);
    parts.push(`<text x="${margin.left - 6}" y="${sy(t) + 4}" text-anchor="end">${t >= 10 || t === 0 ? t.toFixed(0) : t.toPrecision(2)}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const t = (xMax * i) / 5;
    parts.push(`<text x="${sx(t)}" y="${margin.top + plotH + 18}" text-anchor="middle">${Math.round(t)}</text>`);
  }
  parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 12}" text-anchor="middle">${esc(options.xLabel)}</text>`);
  parts.push(`<text transform="translate(18 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(options.yLabel)}</text>`);
  options.series.forEach((s, index) => {
    const points = s.points.filter((p) => Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    if (points.length === 0) return;
    const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const p of points) parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    const ly = margin.top + 10 + index * 20;
    parts.push(`<line x1="${margin.left + plotW + 15}" y1="${ly}" x2="${margin.left + plotW + 40}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${margin.left + plotW + 46}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
