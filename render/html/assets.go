package html

import (
	"crypto/sha256"
	"encoding/base64"
)

// Font stacks, as render/svg uses them.
const (
	sansFonts = `-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, 'DejaVu Sans', sans-serif`
	monoFonts = `ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', 'DejaVu Sans Mono', monospace`
)

// style is the report's stylesheet. Every class is prefixed wt- so that
// the stylesheet of the diagram on show (render/svg's, which applies to
// the whole page while the SVG is in it) cannot restyle the page. Layer
// colours are render/svg's.
const style = `
:root{color-scheme:light}
body{margin:0;font:14px/1.45 ` + sansFonts + `;color:#24292F;background:#FFFFFF}
.wt-top{padding:14px 20px 10px;border-bottom:1px solid #D0D7DE}
.wt-top h1{font-size:20px;margin:0 0 4px}
.wt-sub{color:#57606A;margin:0}
.wt-bar{display:flex;flex-wrap:wrap;gap:12px;align-items:center;padding:10px 20px}
.wt-bar label{font-weight:600}
#wt-filter{font:inherit;padding:4px 8px;width:26em;max-width:90vw;border:1px solid #D0D7DE;border-radius:6px}
#wt-count{color:#57606A}
.wt-scroll{max-height:45vh;overflow:auto;margin:0 20px;border:1px solid #D0D7DE;border-radius:6px}
.wt-mono,.wt-events{font-family:` + monoFonts + `}
table{border-collapse:collapse}
#wt-table{width:100%;font-size:13px}
#wt-table th{position:sticky;top:0;z-index:1;background:#F6F8FA;border-bottom:1px solid #D0D7DE;text-align:left;padding:0;white-space:nowrap}
#wt-table th button{font:inherit;font-weight:600;color:inherit;background:none;border:0;padding:5px 8px;cursor:pointer;width:100%;text-align:inherit}
#wt-table th button:focus-visible{outline:2px solid #0969DA;outline-offset:-2px}
#wt-table th[aria-sort=ascending] button::after{content:" \25B2"}
#wt-table th[aria-sort=descending] button::after{content:" \25BC"}
#wt-table td{padding:3px 8px;border-bottom:1px solid #EEF1F4;white-space:nowrap;max-width:16em;overflow:hidden;text-overflow:ellipsis}
#wt-table .wt-r,#wt-table th.wt-r{text-align:right}
#wt-table td.wt-r{font-variant-numeric:tabular-nums}
#wt-table tbody tr{cursor:pointer}
#wt-table tbody tr:hover{background:#F6F8FA}
#wt-table tbody tr.wt-sel{background:#DDF4FF}
#wt-table a{color:#0969DA}
.wt-none{color:#8C959F}
#wt-view{padding:14px 20px 40px}
#wt-view h2{font-size:17px;margin:0 0 4px}
#wt-view h3{font-size:15px;margin:18px 0 6px}
.wt-meta{color:#57606A;margin:0 0 10px}
.wt-diagram{overflow:auto;max-height:85vh;border:1px solid #D0D7DE;border-radius:6px;background:#FFFFFF}
.wt-diagram svg{display:block}
.wt-events{font-size:12px}
.wt-events th{text-align:left;background:#F6F8FA;border-bottom:1px solid #D0D7DE;padding:3px 8px;font-family:` + sansFonts + `}
.wt-events td{padding:2px 8px;border-bottom:1px solid #EEF1F4;vertical-align:top;white-space:nowrap}
.wt-events td.wt-info{white-space:pre-wrap;overflow-wrap:anywhere;min-width:30em}
.wt-events td.wt-r{text-align:right}
.wt-k{color:#57606A}
.wt-more,.wt-hint{color:#57606A;font-style:italic}
.wt-l-tcp td:first-child{border-left:4px solid #0072B2}
.wt-l-udp td:first-child{border-left:4px solid #009E73}
.wt-l-tls td:first-child{border-left:4px solid #CC79A7}
.wt-l-quic td:first-child{border-left:4px solid #56B4E9}
.wt-l-http1 td:first-child{border-left:4px solid #332288}
.wt-l-http2 td:first-child{border-left:4px solid #882255}
.wt-l-http3 td:first-child{border-left:4px solid #117733}
.wt-l-ws td:first-child{border-left:4px solid #999933}
.wt-l-analysis td:first-child{border-left:4px solid #E69F00}
.wt-l-conn td:first-child,.wt-l-capture td:first-child{border-left:4px solid #6E7781}
`

// script sorts and filters the connection table and shows a connection's
// section (a clone of its template) when its row is clicked or the URL
// fragment is #conn-N. It is a constant: no data from the capture is ever
// put into it, so nothing from the wire can break out of it. It uses no
// inline handlers, which the Content Security Policy would block.
const script = `
(function () {
  'use strict';
  var table = document.getElementById('wt-table');
  var body = table.tBodies[0];
  var heads = table.tHead.rows[0].cells;
  var view = document.getElementById('wt-view');
  var filter = document.getElementById('wt-filter');
  var count = document.getElementById('wt-count');
  var total = body.rows.length;
  var sortCol = 0, sortDir = 1;

  function cellKey(row, i) {
    var c = row.cells[i];
    var v = c.getAttribute('data-v');
    return v === null ? c.textContent : v;
  }
  function connOf(row) { return +row.getAttribute('data-conn'); }

  function sortBy(i) {
    if (sortCol === i) { sortDir = -sortDir; } else { sortCol = i; sortDir = 1; }
    var numeric = heads[i].getAttribute('data-type') === 'num';
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellKey(a, i), y = cellKey(b, i), r = 0;
      if (x === '' || y === '') {
        r = (x === '' ? 1 : 0) - (y === '' ? 1 : 0);
        if (r !== 0) { return r; }
      } else if (numeric) {
        r = parseFloat(x) - parseFloat(y);
      } else {
        r = x < y ? -1 : (x > y ? 1 : 0);
      }
      return r !== 0 ? r * sortDir : connOf(a) - connOf(b);
    });
    for (var k = 0; k < rows.length; k++) { body.appendChild(rows[k]); }
    for (var j = 0; j < heads.length; j++) {
      if (j === i) {
        heads[j].setAttribute('aria-sort', sortDir > 0 ? 'ascending' : 'descending');
      } else {
        heads[j].removeAttribute('aria-sort');
      }
    }
  }

  function applyFilter() {
    var q = filter.value.trim().toLowerCase();
    var shown = 0;
    for (var k = 0; k < body.rows.length; k++) {
      var row = body.rows[k];
      var hit = q === '' || row.textContent.toLowerCase().indexOf(q) >= 0;
      row.hidden = !hit;
      if (hit) { shown++; }
    }
    count.textContent = shown === total ? total + ' shown' : shown + ' of ' + total + ' shown';
  }

  function open(id) {
    var t = document.getElementById('wt-c-' + id);
    if (!t || !t.content) { return false; }
    view.textContent = '';
    view.appendChild(document.importNode(t.content, true));
    view.setAttribute('data-conn', id);
    for (var k = 0; k < body.rows.length; k++) {
      var row = body.rows[k];
      var sel = connOf(row) === +id;
      row.classList.toggle('wt-sel', sel);
      if (sel) { row.setAttribute('aria-current', 'true'); } else { row.removeAttribute('aria-current'); }
    }
    return true;
  }

  function fromHash() {
    var m = /^#conn-([0-9]+)$/.exec(location.hash);
    if (m && open(m[1])) { view.scrollIntoView(); }
  }

  for (var h = 0; h < heads.length; h++) {
    (function (i) {
      var b = heads[i].querySelector('button');
      if (b) { b.addEventListener('click', function () { sortBy(i); }); }
    })(h);
  }
  heads[0].setAttribute('aria-sort', 'ascending');
  body.addEventListener('click', function (e) {
    var row = e.target.closest('tr');
    if (!row || e.target.closest('a')) { return; }
    location.hash = 'conn-' + connOf(row);
  });
  body.addEventListener('keydown', function (e) {
    var row = e.target.closest('tr');
    if (row && e.target === row && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      location.hash = 'conn-' + connOf(row);
    }
  });
  filter.addEventListener('input', applyFilter);
  window.addEventListener('hashchange', fromHash);
  applyFilter();
  fromHash();
})();
`

// csp is the report's Content Security Policy: nothing may be fetched,
// and the only script that may run is ours.
var csp = func() string {
	sum := sha256.Sum256([]byte(script))
	return "default-src 'none'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
}()
