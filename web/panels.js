// panels.js: the client panel (connect, send, log) and the speed test panel.
// Both take { getStack, track, release } from app.js.

const $ = (id) => document.getElementById(id);
const enc = new TextEncoder();

/** "a.b.c.d:port" → { host, port } or { error }. */
export function parseTarget(text) {
  const m = /^\s*([^\s:]+):(\d+)\s*$/.exec(text);
  if (!m) return { error: 'enter host:port, e.g. 10.77.0.1:7' };
  const parts = m[1].split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && +p <= 255)) {
    return { error: `"${m[1]}" is not an IPv4 address (no DNS here: use a.b.c.d)` };
  }
  const port = Number(m[2]);
  if (!(port >= 1 && port <= 65535)) return { error: `port ${m[2]} is out of range (1–65535)` };
  return { host: m[1], port };
}

/** A human sentence for a connect or transfer failure. */
export function describeError(err) {
  switch (err?.code) {
    case 'ECONNREFUSED':
      return 'connection refused (nothing listens there)';
    case 'ETIMEDOUT':
      return 'connection timed out (no answer)';
    case 'ECONNRESET':
      return 'connection reset by the peer';
    case 'ENETUNREACH':
    case 'EHOSTUNREACH':
      return 'no route to that address';
    default:
      return err?.message ?? String(err);
  }
}

export function initClient({ getStack, track, release }) {
  const form = $('client-form');
  const target = $('client-target');
  const connectBtn = $('client-connect');
  const closeBtn = $('client-close');
  const sendForm = $('send-form');
  const text = $('client-text');
  const sendBtn = $('client-send');
  const msg = $('client-msg');
  const log = $('client-log');
  let current = null; // { conn, entry }

  const say = (t, kind = '') => {
    msg.textContent = t;
    msg.className = `msg ${kind}`;
  };
  const append = (t, cls) => {
    const span = document.createElement('span');
    span.className = cls;
    span.textContent = t.endsWith('\n') ? t : `${t}\n`;
    log.append(span);
    while (log.childNodes.length > 300) log.firstChild.remove();
    log.scrollTop = log.scrollHeight;
  };
  const setOpen = (open) => {
    connectBtn.disabled = open;
    target.disabled = open;
    closeBtn.disabled = !open;
    text.disabled = !open;
    sendBtn.disabled = !open;
  };
  const finish = (note) => {
    if (!current) return;
    const { conn, entry } = current;
    current = null;
    release(entry, conn);
    setOpen(false);
    if (note) append(note, 'note');
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (current) return;
    const t = parseTarget(target.value);
    if (t.error) return say(t.error, 'error');
    const stack = getStack();
    if (!stack) return say('not connected to the relay yet', 'error');
    say(`connecting to ${t.host}:${t.port}…`);
    connectBtn.disabled = true;
    let conn;
    try {
      conn = await stack.connect({ host: t.host, port: t.port, timeout: 8000, noDelay: true });
    } catch (err) {
      connectBtn.disabled = false;
      return say(`${t.host}:${t.port}: ${describeError(err)}`, 'error');
    }
    const entry = track(conn, 'client');
    current = { conn, entry };
    setOpen(true);
    say(`connected to ${t.host}:${t.port} from ${conn.localAddress}:${conn.localPort}`, 'ok');
    append(`— connected to ${t.host}:${t.port}`, 'note');
    text.focus();
    const dec = new TextDecoder();
    try {
      for await (const chunk of conn) append(`← ${dec.decode(chunk, { stream: true })}`, 'in');
      if (current?.conn === conn) {
        say('the peer closed the connection');
        finish('— closed by the peer');
      }
    } catch (err) {
      if (current?.conn === conn) {
        say(describeError(err), 'error');
        finish('— connection failed');
      }
    }
  });

  sendForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!current) return;
    const line = text.value;
    if (!line) return;
    text.value = '';
    append(`→ ${line}`, 'out');
    try {
      await current.conn.write(enc.encode(`${line}\n`));
    } catch (err) {
      say(`send failed: ${describeError(err)}`, 'error');
    }
  });

  closeBtn.addEventListener('click', () => {
    say('closed');
    finish('— closed');
  });

  return {
    /** Sets the default target once the gateway is known. */
    setDefault(gateway) {
      if (!target.value || target.dataset.auto === '1') {
        target.value = `${gateway}:7`;
        target.dataset.auto = '1';
      }
    },
    /** The stack went away. */
    reset() {
      if (current) {
        say('the relay connection was lost', 'error');
        finish('— lost with the relay');
      }
    },
  };
}

const fmtMbps = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

export function initSpeed({ getStack, track, release }) {
  const panel = $('speed');
  const run = $('speed-run');
  const mib = $('speed-mib');
  const msg = $('speed-msg');
  const fig = { down: $('down-mbps'), up: $('up-mbps') };
  const bar = { down: $('down-bar'), up: $('up-bar') };
  const results = {};
  const say = (t, kind = '') => {
    msg.textContent = t;
    msg.className = `msg ${kind}`;
  };

  async function download(stack, host, total) {
    const conn = await stack.connect({ host, port: 19, timeout: 8000 });
    const entry = track(conn, 'speed');
    try {
      const t0 = performance.now();
      await conn.write(`${total}\n`);
      let got = 0;
      let last = 0;
      for (;;) {
        const chunk = await conn.read(1 << 20);
        if (chunk === null) break;
        got += chunk.length;
        const now = performance.now();
        if (now - last > 100) {
          last = now;
          bar.down.style.width = `${(100 * got) / total}%`;
          fig.down.textContent = fmtMbps((got * 8) / ((now - t0) * 1000));
        }
      }
      const secs = (performance.now() - t0) / 1000;
      if (got !== total) throw new Error(`download: got ${got} of ${total} bytes`);
      bar.down.style.width = '100%';
      return (got * 8) / secs / 1e6;
    } finally {
      release(entry, conn);
    }
  }

  async function upload(stack, host, total) {
    const conn = await stack.connect({ host, port: 9, timeout: 8000 });
    const entry = track(conn, 'speed');
    try {
      const block = new Uint8Array(256 * 1024).map((_, i) => (i * 7) & 255);
      const t0 = performance.now();
      let sent = 0;
      let last = 0;
      const inflight = [];
      while (sent < total) {
        const n = Math.min(block.length, total - sent);
        inflight.push(conn.write(n === block.length ? block : block.subarray(0, n)));
        sent += n;
        if (inflight.length >= 2) await inflight.shift();
        const now = performance.now();
        if (now - last > 100) {
          last = now;
          const acked = conn.info().bytesAcked;
          bar.up.style.width = `${(100 * acked) / total}%`;
          fig.up.textContent = fmtMbps((acked * 8) / ((now - t0) * 1000));
        }
      }
      await Promise.all(inflight);
      await conn.end();
      let reply = '';
      const dec = new TextDecoder();
      for await (const chunk of conn) reply += dec.decode(chunk, { stream: true });
      const secs = (performance.now() - t0) / 1000;
      if (Number(reply.trim()) !== total) throw new Error(`upload: the sink counted ${reply.trim() || 'nothing'}, not ${total}`);
      bar.up.style.width = '100%';
      return (total * 8) / secs / 1e6;
    } finally {
      release(entry, conn);
    }
  }

  run.addEventListener('click', async () => {
    const stack = getStack();
    if (!stack) return say('not connected to the relay', 'error');
    const n = Number(mib.value);
    if (!(Number.isInteger(n) && n >= 1 && n <= 1024)) return say('size must be a whole number of MiB, 1–1024', 'error');
    const host = stack.gateway ?? '10.77.0.1';
    const total = n * 1024 * 1024;
    run.disabled = true;
    panel.dataset.state = 'running';
    for (const k of ['down', 'up']) {
      fig[k].textContent = '…';
      bar[k].style.width = '0';
      delete results[k];
    }
    try {
      say(`downloading ${n} MiB from ${host}:19…`);
      results.down = await download(stack, host, total);
      fig.down.textContent = fmtMbps(results.down);
      say(`uploading ${n} MiB to ${host}:9…`);
      results.up = await upload(stack, host, total);
      fig.up.textContent = fmtMbps(results.up);
      say(`done: ${n} MiB each way through the relay`, 'ok');
      panel.dataset.state = 'done';
    } catch (err) {
      for (const k of ['down', 'up']) if (!(k in results)) fig[k].textContent = '—';
      say(`speed test failed: ${describeError(err)}`, 'error');
      panel.dataset.state = 'failed';
    } finally {
      run.disabled = !getStack();
    }
  });

  return {
    results,
    setReady(ready, gateway) {
      run.disabled = !ready || panel.dataset.state === 'running';
      if (gateway) $('speed-target').textContent = `to ${gateway} (source :19, sink :9)`;
    },
  };
}
