// partner.js - the view at "/partner/<id>": one partner's hash
// (GET /api/partner/<id>: fields, open episodes, 180-day trend) and its recent
// alerts (GET /api/alerts?partner=<id>). A `health` or `alert` event of the
// stream for this partner reloads the figures (at most once a second).
import { h, replace } from './dom.js';
import { getJSON, ApiError, qs } from './api.js';
import * as F from './format.js';
import { subscribe } from './stream.js';
import { AlertList } from './feed.js';
import { ragChip, flagList } from './leaderboard.js';
import { renderTrend } from './trend.js';

const RELOAD_MIN_MS = 1000;

// Sections of figures: [label, field(s), format]. `money` formats take the
// hash's `currency`. One entry per figure: adding one is one line.
const SECTIONS = [
  { title: 'Pipeline and revenue', rows: [
    ['Open pipeline, sourced', 'pipeline_sourced_minor', 'money'],
    ['Open pipeline, influenced', 'pipeline_influenced_minor', 'money'],
    ['Won revenue, sourced (lifetime)', 'revenue_won_sourced_minor', 'money'],
    ['Won revenue, influenced (lifetime)', 'revenue_won_influenced_minor', 'money'],
    ['Won revenue, long window', 'revenue_won_long_major', 'moneyMajor'],
    ['Average won deal', 'avg_won_deal_minor', 'money'],
    ['Deals sourced / influenced', ['deals_sourced', 'deals_influenced'], 'ints'],
    ['Deals qualified / won / lost', ['deals_qualified', 'deals_won', 'deals_lost'], 'ints'],
    ['Qualified opportunities open', 'qualified_open', 'int'],
    ['Win rate (lifetime / long window)', ['win_rate', 'win_rate_long'], 'pcts'],
    ['Qualified in long window', 'qualified_long', 'int'],
    ['Registrations in long window', 'registrations_long', 'int'],
    ['Days to first qualified', 'days_to_first_qualified', 'days'],
  ] },
  { title: 'Commitments', rows: [
    ['Partner: made / delivered / missed', ['partner_commitments_made', 'partner_commitments_delivered', 'partner_commitments_missed'], 'ints'],
    ['Partner, long window: delivered / missed', ['partner_delivered_long', 'partner_missed_long'], 'ints'],
    ['Ours: made / delivered / missed', ['our_commitments_made', 'our_commitments_delivered', 'our_commitments_missed'], 'ints'],
  ] },
  { title: 'Reciprocity', rows: [
    ['Reciprocity index (0.5 = balanced)', 'reciprocity_index', 'dec3'],
    ['Contributions, theirs / ours (long window)', ['contributions_theirs_long', 'contributions_ours_long'], 'ints'],
    ['Referrals to us / converted', ['referrals_to_us', 'referrals_converted_to_us'], 'ints'],
    ['Referrals to them / converted', ['referrals_to_partner', 'referrals_converted_to_partner'], 'ints'],
  ] },
  { title: 'Activity', rows: [
    ['Last inbound', 'last_inbound_ms', 'time'],
    ['Last outbound', 'last_outbound_ms', 'time'],
    ['Since inbound (business / calendar days)', ['business_days_since_inbound', 'days_since_inbound'], 'dayss'],
    ['Engagements in / out (short window)', ['engagements_inbound_short', 'engagements_outbound_short'], 'ints'],
    ['Engagements in / out (lifetime)', ['engagements_inbound', 'engagements_outbound'], 'ints'],
    ['Follow-ups sent (lifetime)', 'followups_total', 'int'],
    ['Most unanswered follow-ups on a thread', 'max_unanswered_followups', 'int'],
    ['Active partner (long window)', 'active', 'yesno'],
  ] },
  { title: 'Profile and bookkeeping', rows: [
    ['Signed', 'signed_at_ms', 'day'],
    ['Exited', 'exited', 'yesno'],
    ['Calendar / time zone', ['calendar', 'timezone'], 'texts'],
    ['Our calendar', 'our_calendar', 'text'],
    ['Events applied', 'events_applied', 'int'],
    ['Last event', 'last_event_ms', 'time'],
    ['Last event id', 'last_event_id', 'mono'],
    ['Evaluated as of', 'clock_ms', 'time'],
    ['Updated (processing time)', 'updated_at_ms', 'time'],
    ['Config version', 'config_version', 'mono'],
  ] },
];

const FORMATS = {
  int: (v) => F.int(v),
  ints: (vs) => vs.map(F.int).join(' / '),
  pcts: (vs) => vs.map(F.pct).join(' / '),
  dec3: (v) => F.num(v, 3),
  days: (v) => F.days(v),
  dayss: (vs) => vs.map(F.days).join(' / '),
  money: (v, f) => F.moneyMinor(v, f.currency),
  moneyMajor: (v, f) => F.moneyMajor(v, f.currency),
  time: (v) => h('span', { title: F.relTime(v), text: F.absTime(v) }),
  day: (v) => F.absDay(v),
  yesno: (v) => (v === '1' ? 'yes' : v === '0' ? 'no' : F.NA),
  text: (v) => F.text(v),
  texts: (vs) => vs.map(F.text).join(' / '),
  mono: (v) => h('span', { class: 'mono', text: F.text(v) }),
};

function kv(rows, f) {
  return h('dl', { class: 'kv' }, rows.map(([label, key, fmt]) => {
    const v = Array.isArray(key) ? key.map((k) => f[k]) : f[key];
    return [h('dt', { text: label }), h('dd', { dataset: { field: Array.isArray(key) ? key.join(',') : key } }, FORMATS[fmt](v, f))];
  }));
}

const card = (title, cls, ...body) => h('section', { class: 'card ' + (cls || '') }, h('h2', { text: title }), ...body);

const COMPONENTS = [['Financial', 'score_financial'], ['Strategic', 'score_strategic'],
                    ['Operational', 'score_operational'], ['Relationship', 'score_relationship']];

function components(f) {
  return h('div', { class: 'comps' }, COMPONENTS.map(([label, key]) => {
    const v = Number(f[key]);
    const bar = h('i');
    if (f[key] !== '' && f[key] !== undefined && Number.isFinite(v)) bar.style.width = Math.max(0, Math.min(100, v)) + '%';
    return h('div', { class: 'comp', dataset: { field: key } },
      h('div', { class: 'label', text: label }), h('div', { class: 'val', text: F.num(f[key], 1) }), h('div', { class: 'bar' }, bar));
  }));
}

// why_N = "measure value unit -points pts [event id]": the event id apart
function whyItem(s) {
  const m = /^(.*?)\s*\[([^\]]*)\]\s*$/.exec(s);
  return m ? h('li', null, m[1], h('span', { class: 'ev mono', title: 'event that last moved it', text: m[2] }))
           : h('li', { text: s });
}

function why(f) {
  const items = ['why_1', 'why_2', 'why_3'].map((k) => f[k]).filter((s) => s);
  return items.length ? h('ul', { class: 'why' }, items.map(whyItem)) : h('p', { class: 'muted', text: 'Nothing is costing points.' });
}

// The open episodes, one per rule of the hash's `flags`: as the server sends
// them (`open`), else as the partner's latest FIRING of that rule in the alert
// stream tells them (since when, sentence, evidence), else the rule alone.
function episodes(f, open, alerts) {
  const rules = String(f.flags || '').split(',').filter(Boolean);
  const byRule = new Map((Array.isArray(open) ? open : []).map((o) => [o.rule, o]));
  const latest = new Map();
  for (const a of Array.isArray(alerts) ? alerts : []) if (!latest.has(a.rule)) latest.set(a.rule, a); // newest first
  const eps = rules.map((rule) => {
    if (byRule.has(rule)) return byRule.get(rule);
    const a = latest.get(rule);
    return a && a.status === 'FIRING' ? a : { rule };
  });
  for (const [rule, o] of byRule) if (!rules.includes(rule)) eps.push(o);
  return eps;
}

function openFlags(eps) {
  if (!eps.length) return h('p', { class: 'muted', text: 'No open flags.' });
  return h('ul', { class: 'open' }, eps.map((o) => h('li', { dataset: { rule: o.rule || '' } },
    h('div', null, h('span', { class: 'rule', text: o.rule || '' }), ' ',
      o.severity ? h('span', { class: 'chip ' + (o.severity === 'CRITICAL' ? 'red' : 'amber'), text: o.severity }) : null, ' ',
      o.started_at_ms ? h('span', { class: 'muted', title: F.absTime(o.started_at_ms),
        text: 'since ' + F.absDay(o.started_at_ms) + ' (' + F.relTime(o.started_at_ms) + ')' }) : null),
    o.message ? h('div', { class: 'msg', text: o.message }) : h('div', { class: 'muted', text: 'Open; its alert is older than the alerts kept.' }),
    o.value !== undefined && o.value !== null ? h('div', { class: 'muted' }, 'value ' + F.num(o.value, 1) + ', threshold ' + F.num(o.threshold, 1),
      o.evidence ? [' · evidence ', h('span', { class: 'mono', text: o.evidence })] : null) : null)));
}

function responsiveness(f) {
  const cell = (k) => h('td', { class: 'num', dataset: { field: k }, text: F.hours(f[k]) });
  return [
    h('table', { class: 'rt' },
      h('thead', null, h('tr', null, h('th', { text: 'business hours' }), h('th', { class: 'num', text: 'median, 30 d' }),
        h('th', { class: 'num', text: 'p90, 30 d' }), h('th', { class: 'num', text: 'median, 90 d' }), h('th', { class: 'num', text: 'p90, 90 d' }))),
      h('tbody', null,
        h('tr', null, h('th', { text: 'Partner → us' }), ['partner_response_p50_bh_short', 'partner_response_p90_bh_short',
          'partner_response_p50_bh_long', 'partner_response_p90_bh_long'].map(cell)),
        h('tr', null, h('th', { text: 'Us → partner' }), ['our_response_p50_bh_short', 'our_response_p90_bh_short',
          'our_response_p50_bh_long', 'our_response_p90_bh_long'].map(cell)))),
    kv([['Partner replies sampled (30 d)', 'partner_responses_short', 'int'],
        ['Questions awaiting the partner', 'threads_awaiting_partner', 'int'],
        ['… oldest waiting (partner\'s business h)', 'oldest_wait_partner_bh', 'hoursf'],
        ['Questions awaiting us', 'threads_awaiting_us', 'int'],
        ['… oldest waiting (our business h)', 'oldest_wait_us_bh', 'hoursf'],
        ['Automated messages not counted', 'automated_ignored', 'int']], f),
  ];
}
FORMATS.hoursf = (v) => F.hours(v);

export class PartnerPage {
  constructor(root, id) {
    this.root = root;
    this.id = id;
    this.teardown = () => {};
    this.abort = new AbortController();
    this.lastLoad = 0;
    this.timer = 0;
    this.unsubs = [subscribe('health', (r) => r && r.id === id && this.soon()),
                   subscribe('alert', (a) => a && a.partner_id === id && this.soon())];
    replace(root, h('p', { class: 'muted', text: 'Loading ' + id + '…' }));
    this.load();
  }

  stop() {
    for (const u of this.unsubs) u();
    if (this.alerts) this.alerts.stop();
    this.abort.abort();
    clearTimeout(this.timer);
    this.teardown();
  }

  soon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), Math.max(0, this.lastLoad + RELOAD_MIN_MS - Date.now()));
  }

  async load() {
    this.lastLoad = Date.now();
    let p, alerts;
    try {
      [p, alerts] = await Promise.all([
        getJSON('/api/partner/' + encodeURIComponent(this.id), this.abort.signal),
        getJSON('/api/alerts' + qs({ limit: 100, partner: this.id }), this.abort.signal).catch((e) => {
          if (e.name === 'AbortError') throw e;
          return null; // the page shows without the alert details
        })]);
    } catch (e) {
      if (e.name === 'AbortError') return;
      const msg = e instanceof ApiError && e.status === 404 ? 'No partner with id ' + this.id + '.' : 'This partner could not be loaded: ' + e.message;
      replace(this.root, backLink(), h('p', { class: 'muted', id: 'partner-error', text: msg }));
      return;
    }
    if (this.abort.signal.aborted) return;
    this.render(p, alerts && Array.isArray(alerts.alerts) ? alerts.alerts : []);
  }

  render(p, alerts) {
    const f = p.fields || {};
    const y = window.scrollY;
    this.teardown();
    const chartEl = h('div', { class: 'chart', id: 'trend' });
    if (!this.alertsEl) {
      this.alertsEl = h('ul', { class: 'alerts feed-list', id: 'partner-alerts' });
      this.alerts = new AlertList(this.alertsEl, { partner: this.id, withPartner: false, limit: 100 });
      this.alerts.start({ alerts });
    }
    document.title = (f.display_name || this.id) + ' · partnerpulse';
    replace(this.root,
      backLink(),
      h('div', { class: 'phead' },
        h('div', null,
          h('h1', { id: 'partner-name', text: f.display_name || this.id }),
          h('div', { class: 'meta' }, h('span', { class: 'mono', id: 'partner-id', text: this.id }),
            h('span', { text: F.typeLabel(f.partner_type) }), h('span', { text: 'tier ' + F.text(f.tier) }),
            h('span', { text: 'owner ' + F.text(f.owner) }), f.exited === '1' ? h('span', { text: 'exited' }) : null),
          h('div', { class: 'flags' }, flagList(f.flags))),
        h('div', { class: 'score' },
          h('div', { class: 'big', id: 'partner-health', text: F.num(f.health, 1) }),
          h('div', null, ragChip(f.rag), ' ', h('span', { class: 'muted', text: 'confidence ' + F.pct(f.confidence) })))),
      h('div', { class: 'grid' },
        card('Components', 'wide', components(f)),
        card('Why', '', h('div', { id: 'partner-why' }, why(f))),
        card('Open flags', '', h('div', { id: 'partner-open' }, openFlags(episodes(f, p.open, alerts)))),
        card('Health, last 180 days', 'wide', chartEl),
        card('Response times', 'wide', responsiveness(f)),
        SECTIONS.map((s) => card(s.title, '', kv(s.rows, f))),
        card('Recent alerts', 'wide', this.alertsEl)));
    window.scrollTo(0, y);
    let gone = false;
    let destroy = () => {};
    renderTrend(chartEl, p.trend).then((d) => { if (gone) d(); else destroy = d; });
    this.teardown = () => { gone = true; destroy(); };
  }
}

function backLink() {
  return h('a', { class: 'back', href: '/', dataset: { back: '1' }, text: '← All partners' });
}
