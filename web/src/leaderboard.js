// leaderboard.js - the view at "/": every partner, least healthy first, with
// sorting, filters, a search box and paging, all done by the server
// (GET /api/leaderboard). The view's state lives in the URL's query string, so
// the back button and a shared link restore it. A `health` event of the stream
// for a partner on the page updates its row in place and highlights it.
import { h, replace, flash } from './dom.js';
import { getJSON, qs } from './api.js';
import { num, pct, relTime, absTime, typeLabel, text } from './format.js';
import { subscribe } from './stream.js';
import { partnerHref } from './feed.js';

const LIMIT = 50;
const SEARCH_DEBOUNCE_MS = 250;

export function ragChip(rag) {
  const r = rag === 'red' || rag === 'amber' || rag === 'green' ? rag : '';
  return h('span', { class: 'chip ' + r, text: r ? r.toUpperCase() : 'n/a' });
}

export function flagList(flags) {
  const list = Array.isArray(flags) ? flags : String(flags || '').split(',').filter(Boolean);
  return list.length ? list.map((f) => h('span', { class: 'flag', text: f })) : h('span', { class: 'muted', text: '—' });
}

// The columns: one entry each (header, sort key, first direction, cell)
const COLUMNS = [
  { key: 'name', label: 'Partner', sort: 'display_name', dir: 'asc',
    cell: (r) => [h('a', { href: partnerHref(r.id), text: r.display_name || r.id }),
                  h('span', { class: 'id mono', text: r.id })] },
  { key: 'health', label: 'Health', sort: 'health', dir: 'asc', num: true, cell: (r) => num(r.health, 1) },
  { key: 'rag', label: 'RAG', sort: 'rag', dir: 'asc', cell: (r) => ragChip(r.rag) },
  { key: 'confidence', label: 'Confidence', sort: 'confidence', dir: 'asc', num: true, cell: (r) => pct(r.confidence) },
  { key: 'flags', label: 'Open flags', sort: 'flags', dir: 'desc', cell: (r) => flagList(r.flags) },
  { key: 'owner', label: 'Owner', sort: 'owner', dir: 'asc', cell: (r) => text(r.owner) },
  { key: 'type', label: 'Type', sort: 'partner_type', dir: 'asc', cell: (r) => typeLabel(r.partner_type) },
  { key: 'tier', label: 'Tier', sort: 'tier', dir: 'asc', cell: (r) => text(r.tier) },
  { key: 'last', label: 'Last activity', sort: 'last_event_ms', dir: 'desc',
    cell: (r) => h('span', { title: absTime(r.last_event_ms), text: relTime(r.last_event_ms) }) },
];
const SORTS = new Set([...COLUMNS.map((c) => c.sort), 'id']);

// The filters: query parameter, facet name in the answer, label of "any"
const FILTERS = [
  { param: 'rag', facet: 'rag', any: 'Any RAG' },
  { param: 'flag', facet: 'flag', any: 'Any flag' },
  { param: 'owner', facet: 'owner', any: 'Any owner' },
  { param: 'type', facet: 'type', any: 'Any type' },
  { param: 'tier', facet: 'tier', any: 'Any tier' },
];

// state from the URL: {offset, sort, dir, q, owner, type, tier, rag, flag}
function readState() {
  const u = new URLSearchParams(location.search);
  const st = { offset: Math.max(0, parseInt(u.get('offset') || '0', 10) || 0),
               sort: u.get('sort') || 'health', dir: u.get('dir') === 'desc' ? 'desc' : 'asc', q: u.get('q') || '' };
  if (!SORTS.has(st.sort)) st.sort = 'health';
  for (const f of FILTERS) st[f.param] = u.get(f.param) || '';
  return st;
}

function writeState(st) {
  const p = { q: st.q };
  for (const f of FILTERS) p[f.param] = st[f.param];
  if (st.sort !== 'health' || st.dir !== 'asc') Object.assign(p, { sort: st.sort, dir: st.dir });
  if (st.offset) p.offset = st.offset;
  history.replaceState(history.state, '', '/' + qs(p));
}

export class Leaderboard {
  constructor(root, navigate) {
    this.root = root;
    this.navigate = navigate;
    this.st = readState();
    this.rows = new Map(); // partner id -> {tr, row} of the rows shown
    this.abort = null;
    this.seq = 0;
    this.unsub = subscribe('health', (row) => this.live(row));
    this.build();
    this.load();
  }

  stop() {
    this.unsub();
    if (this.abort) this.abort.abort();
    clearTimeout(this.searchTimer);
  }

  build() {
    this.search = h('input', { type: 'search', placeholder: 'Search name, id or owner…', value: this.st.q,
      attrs: { 'aria-label': 'Search partners' }, on: { input: () => this.onSearch() } });
    this.selects = {};
    for (const f of FILTERS) {
      this.selects[f.param] = h('select', { name: f.param, attrs: { 'aria-label': f.any },
        on: { change: (ev) => this.set({ [f.param]: ev.target.value, offset: 0 }) } },
        h('option', { value: '', text: f.any }),
        this.st[f.param] ? h('option', { value: this.st[f.param], text: this.st[f.param], selected: true }) : null);
    }
    this.ths = COLUMNS.map((c) => h('th', { class: 'sortable' + (c.num ? ' num' : ''), text: c.label,
      attrs: { scope: 'col', tabindex: 0 }, dataset: { sort: c.sort },
      on: { click: () => this.sortBy(c), keydown: (ev) => { if (ev.key === 'Enter') this.sortBy(c); } } }));
    this.tbody = h('tbody', { id: 'lb-body' });
    this.range = h('span', { class: 'muted', id: 'lb-range' });
    this.prev = h('button', { type: 'button', text: '← Prev', on: { click: () => this.page(-1) } });
    this.next = h('button', { type: 'button', text: 'Next →', on: { click: () => this.page(1) } });
    this.status = h('p', { class: 'muted', hidden: true });
    replace(this.root,
      h('h1', { text: 'Partners at risk' }),
      h('div', { class: 'controls' }, this.search, Object.values(this.selects)),
      this.status,
      h('div', { class: 'table-wrap' },
        h('table', { id: 'leaderboard' }, h('thead', null, h('tr', null, this.ths)), this.tbody)),
      h('div', { class: 'pager' }, this.range, this.prev, this.next));
    this.tbody.addEventListener('click', (ev) => {
      if (ev.target.closest('a') || ev.button !== 0 || ev.metaKey || ev.ctrlKey) return;
      const tr = ev.target.closest('tr[data-id]');
      if (tr) this.navigate(partnerHref(tr.dataset.id));
    });
    this.markSort();
  }

  markSort() {
    for (const th of this.ths) {
      if (th.dataset.sort === this.st.sort) th.setAttribute('aria-sort', this.st.dir === 'asc' ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
  }

  set(change) {
    Object.assign(this.st, change);
    writeState(this.st);
    this.markSort();
    this.load();
  }

  sortBy(c) {
    const dir = this.st.sort === c.sort ? (this.st.dir === 'asc' ? 'desc' : 'asc') : c.dir;
    this.set({ sort: c.sort, dir, offset: 0 });
  }

  page(step) {
    this.set({ offset: Math.max(0, this.st.offset + step * LIMIT) });
  }

  onSearch() {
    clearTimeout(this.searchTimer);
    this.searchTimer = setTimeout(() => this.set({ q: this.search.value.trim(), offset: 0 }), SEARCH_DEBOUNCE_MS);
  }

  async load() {
    if (this.abort) this.abort.abort();
    this.abort = new AbortController();
    const seq = ++this.seq;
    const p = { offset: this.st.offset, limit: LIMIT, sort: this.st.sort, dir: this.st.dir, q: this.st.q };
    for (const f of FILTERS) p[f.param] = this.st[f.param];
    this.root.classList.add('loading');
    let body;
    try {
      body = await getJSON('/api/leaderboard' + qs(p), this.abort.signal);
    } catch (e) {
      if (e.name === 'AbortError' || seq !== this.seq) return;
      this.status.hidden = false;
      this.status.textContent = 'The leaderboard could not be loaded: ' + e.message;
      return;
    } finally {
      if (seq === this.seq) this.root.classList.remove('loading');
    }
    if (seq !== this.seq) return;
    this.status.hidden = true;
    this.render(body);
  }

  render(body) {
    const rows = Array.isArray(body.rows) ? body.rows : [];
    this.rows.clear();
    replace(this.tbody, rows.map((r) => this.row(r)));
    if (!rows.length) {
      this.tbody.appendChild(h('tr', null, h('td', { class: 'empty', attrs: { colspan: COLUMNS.length },
        text: body.partners_total ? 'No partner matches these filters.' : 'No partners in Redis yet.' })));
    }
    const total = Number(body.total) || 0;
    const from = rows.length ? this.st.offset + 1 : 0;
    let range = `${from.toLocaleString()}–${(this.st.offset + rows.length).toLocaleString()} of ${total.toLocaleString()}`;
    if (body.partners_total !== undefined && Number(body.partners_total) !== total)
      range += ` (of ${Number(body.partners_total).toLocaleString()} partners)`;
    this.range.textContent = range;
    this.prev.disabled = this.st.offset === 0;
    this.next.disabled = this.st.offset + rows.length >= total;
    this.facets(body.facets || {});
  }

  row(r) {
    const tr = h('tr', { dataset: { id: r.id } });
    this.fill(tr, r);
    this.rows.set(r.id, tr);
    return tr;
  }

  fill(tr, r) {
    replace(tr, COLUMNS.map((c) => h('td', { class: (c.num ? 'num ' : '') + c.key, dataset: { col: c.key } }, c.cell(r))));
    tr.dataset.rag = r.rag || '';
  }

  facets(facets) {
    for (const f of FILTERS) {
      const sel = this.selects[f.param];
      const values = Array.isArray(facets[f.facet]) ? facets[f.facet].map(String) : [];
      const cur = this.st[f.param];
      if (cur && !values.includes(cur)) values.unshift(cur);
      const have = [...sel.options].slice(1).map((o) => o.value);
      if (have.length === values.length && have.every((v, i) => v === values[i])) continue;
      replace(sel, h('option', { value: '', text: f.any }),
        values.map((v) => h('option', { value: v, text: f.param === 'type' ? typeLabel(v) : v, selected: v === cur })));
    }
  }

  // live(row): a leaderboard row from the stream's `health` event
  live(r) {
    const tr = r && this.rows.get(r.id);
    if (!tr) return;
    this.fill(tr, r);
    flash(tr);
  }
}
