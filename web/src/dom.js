// dom.js - the only way this page builds DOM. Every string, partner-supplied or
// not, becomes a text node (document.createTextNode / textContent); nothing is
// ever parsed as HTML (no innerHTML, insertAdjacentHTML or on* attributes), so a
// display_name of "<img src=x onerror=alert(1)>" shows as those characters.

// h(tag, props, ...children): an element. props: class, text, title, href,
// hidden, dataset {k: v}, attrs {name: value} (setAttribute; never on*),
// on {event: fn}. children: nodes, strings (text nodes), null/false (skipped)
// and arrays of those.
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else if (k === 'attrs') {
        for (const [a, av] of Object.entries(v)) {
          if (/^on/i.test(a)) throw new Error('dom.h: event attributes are not allowed: ' + a);
          el.setAttribute(a, String(av));
        }
      } else if (k === 'hidden' || k === 'disabled' || k === 'selected') el[k] = Boolean(v);
      else if (k === 'title' || k === 'href' || k === 'value' || k === 'type' || k === 'placeholder' ||
               k === 'id' || k === 'name') el[k] = String(v);
      else throw new Error('dom.h: unknown property ' + k);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// replace(el, ...children): el's children become these
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// flash(el, cls): restart a CSS animation class on el
export function flash(el, cls = 'flash') {
  el.classList.remove(cls);
  void el.offsetWidth; // reflow, so the animation starts again
  el.classList.add(cls);
}
