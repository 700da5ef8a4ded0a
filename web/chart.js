// chart.js: a hand-drawn time chart on a <canvas>: throughput (left axis, Mbit/s) and
// congestion window (right axis, KB) over the last `span` seconds; crisp at any
// devicePixelRatio.

const COLORS = { grid: '#263043', axis: '#8b98b0', text: '#c9d3e6', rate: '#4fd1c5', cwnd: '#f6ad55', bg: '#121826' };

/** A "nice" upper bound and step for an axis whose data goes up to `max`. */
function niceScale(max, ticks = 4) {
  if (!(max > 0)) max = 1;
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw);
  return { step, top: Math.ceil(max / step) * step };
}

function fmt(v) {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(v % 1 ? 1 : 0);
  return v.toFixed(v % 1 ? (v < 1 ? 2 : 1) : 0);
}

export class Chart {
  constructor(canvas, { span = 60 } = {}) {
    this.canvas = canvas;
    this.span = span;
    this.ctx = canvas.getContext('2d');
    this.title = '';
  }

  #fit() {
    const dpr = window.devicePixelRatio || 1;
    const rect = this.canvas.getBoundingClientRect();
    const w = Math.max(1, Math.round(rect.width));
    const h = Math.max(1, Math.round(rect.height));
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(h * dpr);
    }
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { w, h };
  }

  /**
   * samples: [{ t (ms), mbps, cwndKB }] oldest first; now: ms; title: text above the plot;
   * empty: text shown when there is nothing to plot; closed: `now` is the close time.
   */
  draw(samples, now, { title = '', empty = 'no connection selected', closed = false } = {}) {
    const { w, h } = this.#fit();
    const ctx = this.ctx;
    ctx.clearRect(0, 0, w, h);
    ctx.fillStyle = COLORS.bg;
    ctx.fillRect(0, 0, w, h);
    ctx.font = '12px ui-sans-serif, system-ui, sans-serif';
    ctx.textBaseline = 'middle';

    const pad = { l: 56, r: 60, t: 34, b: 30 };
    const pw = w - pad.l - pad.r;
    const ph = h - pad.t - pad.b;
    if (pw < 40 || ph < 40) return;
    // the window: the last `span` seconds, zoomed in (2, 5, 10, 20 or 30 s) while the
    // history is shorter
    const age = samples.length ? (now - samples[0].t) / 1000 : this.span;
    const span = [2, 5, 10, 20, 30].find((s) => s >= age && s < this.span) ?? this.span;
    const tickStep = { 2: 0.5, 5: 1, 10: 2, 20: 5, 30: 5 }[span] ?? 10;
    const t0 = now - span * 1000;
    const visible = samples.filter((s) => s.t >= t0 - 1000 && s.t <= now + 1);

    const rate = niceScale(Math.max(0, ...visible.map((s) => s.mbps)));
    const cwnd = niceScale(Math.max(0, ...visible.map((s) => s.cwndKB)));
    const x = (t) => pad.l + ((t - t0) / (span * 1000)) * pw;
    const yRate = (v) => pad.t + ph - (v / rate.top) * ph;
    const yCwnd = (v) => pad.t + ph - (v / cwnd.top) * ph;
    const crisp = (v) => Math.round(v) + 0.5;

    // grid and left/right tick labels
    ctx.lineWidth = 1;
    const n = Math.round(rate.top / rate.step);
    for (let i = 0; i <= n; i++) {
      const y = crisp(pad.t + ph - (i / n) * ph);
      ctx.strokeStyle = i === 0 ? COLORS.axis : COLORS.grid;
      ctx.beginPath();
      ctx.moveTo(pad.l, y);
      ctx.lineTo(pad.l + pw, y);
      ctx.stroke();
      ctx.fillStyle = COLORS.rate;
      ctx.textAlign = 'right';
      ctx.fillText(fmt(i * rate.step), pad.l - 8, y);
      ctx.fillStyle = COLORS.cwnd;
      ctx.textAlign = 'left';
      ctx.fillText(fmt((i / n) * cwnd.top), pad.l + pw + 8, y);
    }
    // time ticks
    ctx.fillStyle = COLORS.axis;
    ctx.textAlign = 'center';
    for (let k = 0; k * tickStep <= span + 1e-9; k++) {
      const s = k * tickStep;
      const xx = crisp(pad.l + (s / span) * pw);
      ctx.strokeStyle = COLORS.grid;
      ctx.beginPath();
      ctx.moveTo(xx, pad.t);
      ctx.lineTo(xx, pad.t + ph);
      ctx.stroke();
      ctx.fillText(s === span ? (closed ? 'close' : 'now') : `-${span - s}s`, xx, pad.t + ph + 14);
    }
    // axis titles
    ctx.save();
    ctx.fillStyle = COLORS.rate;
    ctx.translate(14, pad.t + ph / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.fillText('throughput, Mbit/s', 0, 0);
    ctx.restore();
    ctx.save();
    ctx.fillStyle = COLORS.cwnd;
    ctx.translate(w - 12, pad.t + ph / 2);
    ctx.rotate(Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.fillText('cwnd, KB', 0, 0);
    ctx.restore();

    // title and legend
    ctx.textAlign = 'left';
    ctx.fillStyle = COLORS.text;
    ctx.font = '600 13px ui-sans-serif, system-ui, sans-serif';
    ctx.fillText(title, pad.l, 16);
    ctx.font = '12px ui-sans-serif, system-ui, sans-serif';
    const legend = [
      ['throughput', COLORS.rate],
      ['cwnd', COLORS.cwnd],
    ];
    let lx = pad.l + pw;
    for (const [label, color] of legend.reverse()) {
      const tw = ctx.measureText(label).width;
      lx -= tw;
      ctx.fillStyle = COLORS.text;
      ctx.fillText(label, lx, 16);
      lx -= 22;
      ctx.fillStyle = color;
      ctx.fillRect(lx, 14, 16, 3);
      lx -= 16;
    }

    if (visible.length < 2) {
      ctx.fillStyle = COLORS.axis;
      ctx.textAlign = 'center';
      ctx.fillText(visible.length ? 'collecting…' : empty, pad.l + pw / 2, pad.t + ph / 2);
      return;
    }

    ctx.save();
    ctx.beginPath();
    ctx.rect(pad.l, pad.t - 2, pw, ph + 4);
    ctx.clip();
    // throughput: filled area + line
    const grad = ctx.createLinearGradient(0, pad.t, 0, pad.t + ph);
    grad.addColorStop(0, 'rgba(79,209,197,0.35)');
    grad.addColorStop(1, 'rgba(79,209,197,0.02)');
    ctx.beginPath();
    ctx.moveTo(x(visible[0].t), pad.t + ph);
    for (const s of visible) ctx.lineTo(x(s.t), yRate(s.mbps));
    ctx.lineTo(x(visible[visible.length - 1].t), pad.t + ph);
    ctx.closePath();
    ctx.fillStyle = grad;
    ctx.fill();
    const line = (key, y, color) => {
      ctx.beginPath();
      visible.forEach((s, i) => (i ? ctx.lineTo(x(s.t), y(s[key])) : ctx.moveTo(x(s.t), y(s[key]))));
      ctx.strokeStyle = color;
      ctx.lineWidth = 2;
      ctx.lineJoin = 'round';
      ctx.stroke();
    };
    line('mbps', yRate, COLORS.rate);
    line('cwndKB', yCwnd, COLORS.cwnd);
    ctx.restore();
  }
}
