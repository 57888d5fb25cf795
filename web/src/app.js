// app.js - the dashboard's entry point: a small router over two views
// ("/" the leaderboard, "/partner/<id>" a partner page; history.pushState, so
// links, the back button and reloads all work), the live alert feed beside
// them, and the one stream of live events (/api/stream) they all listen to.
import { h, replace } from './dom.js';
import { onUnauthorized } from './api.js';
import { startStream, onStatus } from './stream.js';
import { AlertList } from './feed.js';
import { Leaderboard } from './leaderboard.js';

const main = document.getElementById('main');
const banner = document.getElementById('banner');
const conn = document.getElementById('conn');
let view = null;

onUnauthorized(() => {
  replace(banner,
    h('strong', { text: 'Not signed in. ' }),
    'This dashboard needs a token: open it once as ', h('code', { text: '/?token=<your token>' }),
    ' (a cookie keeps you signed in), or sign in with the user name and password you were given, then reload the page.');
  banner.hidden = false;
});

const STATUS = { live: ['live', 'live'], reconnecting: ['down', 'reconnecting…'], down: ['down', 'live updates offline, retrying…'] };
onStatus((s) => {
  const [cls, label] = STATUS[s] || ['', s];
  conn.className = 'conn ' + cls;
  conn.textContent = label;
});

async function route() {
  if (view) view.stop();
  view = null;
  window.scrollTo(0, 0);
  const m = /^\/partner\/([^/]+)\/?$/.exec(location.pathname);
  if (m) {
    let id;
    try {
      id = decodeURIComponent(m[1]);
    } catch {
      id = m[1];
    }
    const { PartnerPage } = await import('./partner.js');
    view = new PartnerPage(main, id);
  } else {
    document.title = 'Partners at risk · partnerpulse';
    view = new Leaderboard(main, navigate);
  }
}

export function navigate(href) {
  const u = new URL(href, location.href);
  if (u.pathname + u.search === location.pathname + location.search) return;
  history.pushState({ pp: 1, fromList: location.pathname === '/' }, '', u.pathname + u.search);
  route();
}

// same-origin links to our views navigate in place; others (assets, API,
// other hosts, modified clicks) keep the browser's behaviour
document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[href]');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const u = new URL(a.href, location.href);
  if (u.origin !== location.origin || !(u.pathname === '/' || u.pathname.startsWith('/partner/'))) return;
  ev.preventDefault();
  // "back to all partners" returns to the leaderboard as it was, if we came from it
  if (a.dataset.back && history.state && history.state.fromList) history.back();
  else navigate(u.pathname + u.search);
});
window.addEventListener('popstate', route);

// /?token=... set the auth cookie on the way in: keep the token out of the
// address bar (and of bookmarks)
{
  const u = new URL(location.href);
  if (u.searchParams.has('token')) {
    u.searchParams.delete('token');
    history.replaceState(null, '', u.pathname + u.search);
  }
}

route();
startStream();
new AlertList(document.getElementById('feed-list'), { limit: 50 }).start();
