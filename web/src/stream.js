// stream.js - the one EventSource of the page (GET /api/stream): `alert` and
// `health` events go to their subscribers; status changes go to onStatus. The
// browser reconnects a dropped stream by itself; a stream the browser gave up
// on (server down, 401) is opened again after a pause. After any reconnect the
// `reconnect` subscribers are told, so views can fetch what they missed.

const subs = { alert: new Set(), health: new Set(), reconnect: new Set() };
let es = null;
let statusFn = () => {};
let wasOpen = false;
let retryTimer = 0;

export function subscribe(type, fn) {
  subs[type].add(fn);
  return () => subs[type].delete(fn);
}

export function onStatus(fn) { statusFn = fn; }

function dispatch(type, ev) {
  let data;
  try {
    data = JSON.parse(ev.data);
  } catch {
    return; // not ours to show
  }
  for (const fn of subs[type]) {
    try {
      fn(data);
    } catch (e) {
      console.error('stream subscriber failed', e);
    }
  }
}

export function startStream() {
  if (es) return;
  es = new EventSource('/api/stream');
  es.addEventListener('open', () => {
    statusFn('live');
    if (wasOpen) for (const fn of subs.reconnect) fn();
    wasOpen = true;
  });
  es.addEventListener('alert', (ev) => dispatch('alert', ev));
  es.addEventListener('health', (ev) => dispatch('health', ev));
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CLOSED) {
      statusFn('down');
      es = null;
      wasOpen = true; // what comes after is a reconnect
      clearTimeout(retryTimer);
      retryTimer = setTimeout(startStream, 5000);
    } else {
      statusFn('reconnecting');
    }
  });
}
