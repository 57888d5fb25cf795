// feed.js - lists of alert transitions: the live feed beside every view
// (GET /api/alerts, then `alert` events of the stream, newest on top) and the
// partner page's own list. FIRING shows red (CRITICAL) or amber (WARNING,
// INFO), RESOLVED green.
import { h, replace, flash } from './dom.js';
import { getJSON, qs } from './api.js';
import { absTime, relTime } from './format.js';
import { subscribe } from './stream.js';

const MAX_ITEMS = 200; // a feed left open for days stays small

// Redis stream ids ("<ms>-<seq>") in order
function idCmp(a, b) {
  const [am, as] = String(a).split('-').map(Number);
  const [bm, bs] = String(b).split('-').map(Number);
  return am - bm || as - bs;
}

export function partnerHref(id) { return '/partner/' + encodeURIComponent(id); }

// alertItem(a, withPartner): one <li> for alert transition a
export function alertItem(a, withPartner = true) {
  const status = String(a.status || '').toUpperCase();
  const sev = String(a.severity || '').toLowerCase();
  const cls = ['feed-item', status === 'RESOLVED' ? 'resolved' : 'firing', sev].join(' ');
  const when = a.event_time_ms || a.started_at_ms;
  return h('li', { class: cls, dataset: { id: String(a.id || ''), alertId: String(a.alert_id || '') } },
    h('div', { class: 'line1' },
      h('span', { class: 'status', text: status === 'RESOLVED' ? 'RESOLVED' : status + ' · ' + (a.severity || '') }),
      h('span', { class: 'rule', text: a.rule || '' }),
      withPartner ? h('a', { href: partnerHref(a.partner_id || ''), class: 'partner', text: a.partner_id || '' }) : null),
    h('div', { class: 'msg', text: a.message || '' }),
    h('div', { class: 'when', title: 'event time ' + absTime(when) + '; computed ' + absTime(a.emitted_at_ms) },
      absTime(when),
      a.emitted_at_ms ? ' · computed ' + relTime(a.emitted_at_ms) : null,
      a.evidence ? [' · ', h('span', { class: 'mono', text: a.evidence })] : null));
}

// AlertList: a <ol>/<ul> of alert items, newest first, deduplicated by stream id
export class AlertList {
  constructor(listEl, { partner = null, withPartner = true, limit = 50 } = {}) {
    this.el = listEl;
    this.partner = partner;
    this.withPartner = withPartner;
    this.limit = limit;
    this.seen = new Set();
    this.unsubs = [];
  }

  // start(initial): show initial (an /api/alerts answer already fetched) or
  // load the latest alerts, then follow the stream
  async start(initial = null) {
    this.unsubs.push(subscribe('alert', (a) => this.live(a)));
    this.unsubs.push(subscribe('reconnect', () => this.refill()));
    await this.refill(true, initial);
  }

  stop() { for (const u of this.unsubs) u(); this.unsubs = []; }

  async refill(first = false, initial = null) {
    let body = initial;
    try {
      if (!body) body = await getJSON('/api/alerts' + qs({ limit: this.limit, partner: this.partner }));
    } catch (e) {
      if (first) replace(this.el, h('li', { class: 'muted', text: 'Alerts unavailable: ' + e.message }));
      return;
    }
    const alerts = Array.isArray(body.alerts) ? body.alerts : [];
    if (first) {
      replace(this.el);
      this.seen.clear();
    }
    // oldest first, so each lands on top of the ones before it
    const fresh = alerts.filter((a) => !this.seen.has(a.id)).sort((a, b) => idCmp(a.id, b.id));
    for (const a of fresh) this.add(a, !first);
    if (this.el.children.length === 0) this.el.appendChild(h('li', { class: 'muted empty-note', text: 'No alerts yet.' }));
  }

  live(a) {
    if (this.partner !== null && a.partner_id !== this.partner) return;
    if (this.seen.has(a.id)) return;
    this.add(a, true);
  }

  add(a, isNew) {
    this.seen.add(a.id);
    const note = this.el.querySelector('.empty-note');
    if (note) note.remove();
    const li = alertItem(a, this.withPartner);
    // newest on top: before the first item that is older
    let before = this.el.firstElementChild;
    while (before && before.dataset.id && idCmp(before.dataset.id, a.id) > 0) before = before.nextElementSibling;
    this.el.insertBefore(li, before);
    if (isNew) flash(li, 'new');
    while (this.el.children.length > MAX_ITEMS) {
      this.seen.delete(this.el.lastElementChild.dataset.id);
      this.el.lastElementChild.remove();
    }
  }
}
