// The console's only stylesheet and script, served from memory by the gateway: plain CSS, and a few dozen
// lines of vanilla JS for stepping through a replay, the live approvals inbox and "verify now".

export const CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;background:#f6f7f9}
header{display:flex;align-items:center;gap:24px;padding:10px 24px;background:#1d2330;color:#fff}
header a{color:#cfd6e4;text-decoration:none}header a.active,header a:hover{color:#fff}
.brand{font-weight:700;font-size:16px;color:#fff!important;letter-spacing:.04em}
nav{display:flex;gap:18px;flex:1}
.who{display:flex;gap:10px;align-items:center;color:#cfd6e4}
main{padding:20px 24px;max-width:1280px}
h1{font-size:20px;margin:4px 0 16px}h2{font-size:16px;margin:24px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e8}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #eceef2;vertical-align:top}
th{background:#eef0f4;font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:#4a5263}
td.num,th.num{text-align:right}td.empty,li.empty{color:#7a8396;font-style:italic}
td.null{color:#9aa2b2;font-style:italic}
td.masked{background:#fff4d6;color:#6b4e00}th.masked::after,td.masked::after{content:" \u25a0 masked";font-size:.75em;font-style:normal;color:#a86b00}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12.5px}
pre.sql{background:#f0f2f6;padding:8px 10px;margin:6px 0;white-space:pre-wrap;border-radius:4px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;background:#e4e7ee;font-size:12px}
.action-allow,.status-approved,.outcome-client{background:#d9f2df;color:#17612c}
.action-deny,.status-denied,.outcome-error{background:#fbdcdc;color:#8a1c1c}
.action-review,.status-pending,.outcome-open,.outcome-interrupted{background:#fff0c7;color:#7a5600}
.action-mask{background:#dbe8fb;color:#1d4c8f}
.status-expired,.status-abandoned,.outcome-idle_timeout,.outcome-max_duration,.outcome-shutdown{background:#ececec;color:#555}
.error{color:#a11d1d}.notice{color:#7a5600}.hint{color:#6b7385}
.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-end;margin-bottom:14px}
.filters label{display:flex;flex-direction:column;font-size:12px;color:#4a5263;gap:2px}
input,select,button{font:inherit;padding:4px 8px;border:1px solid #c5cbd6;border-radius:4px;background:#fff}
button,.button{cursor:pointer;background:#2d5bd7;color:#fff;border-color:#2d5bd7;padding:5px 12px;border-radius:4px;text-decoration:none;display:inline-block}
header button{background:transparent;border-color:#4a5263}
button.deny{background:#b32424;border-color:#b32424}button.approve{background:#17802f;border-color:#17802f}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0 0 16px}
dl.meta dt{color:#6b7385}dl.meta dd{margin:0}
.timeline{position:relative;height:34px;background:#fff;border:1px solid #dde1e8;border-radius:4px;margin:8px 0}
.timeline .mark{position:absolute;top:6px;width:10px;height:20px;margin-left:-5px;padding:0;border:1px solid #fff;border-radius:3px}
.timeline .mark.current{outline:2px solid #1d2330}
.controls{display:flex;gap:12px;align-items:center;margin:8px 0 12px}.controls .raw{margin-left:auto}
ol.steps{list-style:none;padding:0;margin:0}
.step{background:#fff;border:1px solid #dde1e8;border-left:4px solid #c5cbd6;border-radius:4px;margin:0 0 8px;padding:8px 12px;opacity:.6}
.step.current{opacity:1;border-left-color:#2d5bd7;box-shadow:0 1px 4px rgba(0,0,0,.08)}
.step-head{display:flex;gap:10px;align-items:center;flex-wrap:wrap}
.step-head .idx{font-weight:700}.step-head .at,.step-head .dur,.step-head .rows{color:#6b7385}
.rule{font-family:ui-monospace,monospace;font-size:12px;color:#4a5263}
.result{max-height:320px;overflow:auto;margin:6px 0}
.inbox{list-style:none;padding:0}.request{background:#fff;border:1px solid #dde1e8;border-left:4px solid #e0a800;border-radius:4px;padding:10px 12px;margin-bottom:10px}
.decide{display:flex;gap:8px;align-items:center}.decide input{flex:1;max-width:420px}
.verdict{padding:12px 14px;border-radius:4px;margin-bottom:16px;display:flex;gap:10px;align-items:center;flex-wrap:wrap}
.verdict button{margin-left:auto}
.verdict-ok{background:#d9f2df}.verdict-failed,.verdict-error{background:#fbdcdc}.verdict-pending{background:#fff0c7}
code.hash{word-break:break-all}
pre.terminal{background:#11151c;color:#e6e9ef;padding:8px 10px;border-radius:4px;overflow:auto;line-height:1.2;min-height:8em}
.login{max-width:520px;margin:60px auto;background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:24px}
.flag-denials{background:#fbdcdc;color:#8a1c1c}.flag-reviews{background:#fff0c7;color:#7a5600}.flag-masking{background:#e4ecfb;color:#1d3f8a}
.review-approved{background:#d9f2df;color:#17612c}.review-denied,.review-expired,.review-abandoned{background:#fbdcdc;color:#8a1c1c}
.countdown{color:#6b7385;font-weight:600}.countdown.soon,.countdown.late{color:#a11d1d}
.request.done{border-left-color:#9aa2b2;opacity:.85}
td.id code{color:#4a5263}.readonly{background:#eef3fe;border:1px solid #c9d8f8;padding:8px 12px;border-radius:4px}
table.events td.data{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all;max-width:520px}
.pager{display:flex;gap:12px;margin:12px 0}
.table-scroll{overflow-x:auto}
@media (max-width:720px){
  header{flex-wrap:wrap;gap:8px 16px;padding:10px 12px}nav{order:3;flex-basis:100%;overflow-x:auto}
  .who{font-size:12px}main{padding:12px}
  .filters label{flex:1 1 45%}.filters button{flex-basis:100%}
  table{display:block;overflow-x:auto;white-space:nowrap}
  .decide{flex-wrap:wrap}.decide input{flex-basis:100%;max-width:none}.decide button{flex:1;padding:10px}
  .request-head{line-height:1.7}pre.sql{font-size:12px}
  dl.meta{grid-template-columns:1fr}dl.meta dt{margin-top:6px}
}
`;

export const JS = `"use strict";
(function () {
  var $ = function (s, r) { return (r || document).querySelector(s); };
  var $$ = function (s, r) { return Array.prototype.slice.call((r || document).querySelectorAll(s)); };

  // Replay: one current step, moved by buttons, arrow keys or the timeline.
  var steps = $$("#steps > li");
  if (steps.length) {
    var marks = $$("#timeline .mark");
    // Marks keep their place in time but never overlap: each starts at least one mark's width after the one before.
    var line = $("#timeline"), width = line ? line.clientWidth : 0, prev = -Infinity;
    marks.forEach(function (m) {
      var px = Math.max(Number(m.getAttribute("data-pos")) / 100 * width, prev + 12);
      prev = px; m.style.left = px + "px";
    });
    if (width && prev > width - 6) marks.forEach(function (m) { m.style.left = (parseFloat(m.style.left) * (width - 6) / prev) + "px"; });
    var cur = 0;
    var show = function (i, scroll) {
      cur = Math.max(0, Math.min(steps.length - 1, i));
      steps.forEach(function (s, k) { s.classList.toggle("current", k === cur); });
      marks.forEach(function (m, k) { m.classList.toggle("current", k === cur); });
      $("#position").textContent = (cur + 1) + " / " + steps.length;
      if (scroll) steps[cur].scrollIntoView({ block: "nearest" });
    };
    $("#prev").addEventListener("click", function () { show(cur - 1, true); });
    $("#next").addEventListener("click", function () { show(cur + 1, true); });
    marks.forEach(function (m) { m.addEventListener("click", function () { show(Number(m.getAttribute("data-step")), true); }); });
    steps.forEach(function (s, k) { s.addEventListener("click", function () { show(k, false); }); });
    document.addEventListener("keydown", function (e) {
      if (e.target && /INPUT|TEXTAREA|SELECT/.test(e.target.tagName)) return;
      if (e.key === "ArrowRight" || e.key === "j") show(cur + 1, true);
      if (e.key === "ArrowLeft" || e.key === "k") show(cur - 1, true);
    });
    show(0, false);
  }

  // Approvals: decide through the API, then keep the pending list live by polling.
  var pending = $("#pending");
  if (pending) {
    var post = function (form, verdict) {
      var out = $(".result", form);
      var reason = $("input[name=reason]", form).value.trim();
      if (!reason) { out.textContent = "a reason is required"; out.className = "result error"; return; }
      out.textContent = "…"; out.className = "result";
      fetch("/console/api/approvals/" + encodeURIComponent(form.getAttribute("data-request")) + "/" + verdict, {
        method: "POST", credentials: "same-origin",
        headers: { "content-type": "application/json" }, body: JSON.stringify({ reason: reason })
      }).then(function (r) {
        return r.json().then(function (b) {
          if (r.ok) { out.textContent = b.status; out.className = "result badge status-" + b.status; decided(form.closest("li")); refresh(); }
          else { out.textContent = "refused (" + r.status + "): " + (b.error ? b.error.message : ""); out.className = "result error"; }
        });
      }).catch(function (e) { out.textContent = "failed: " + e.message; out.className = "result error"; });
    };
    pending.addEventListener("click", function (e) {
      var v = e.target.getAttribute && e.target.getAttribute("data-verdict");
      if (v) post(e.target.closest("form"), v);
    });
    var el = function (tag, cls, text) { var n = document.createElement(tag); if (cls) n.className = cls; if (text != null) n.textContent = text; return n; };
    var fmt = function (ms) { return ms == null ? "—" : new Date(ms).toISOString().replace("T", " ").replace(/\\.\\d+Z$/, "Z"); };
    var item = function (a) {
      var li = el("li", "request"); li.setAttribute("data-request", a.id);
      var head = el("div", "request-head");
      if (a.deadline != null) li.setAttribute("data-deadline", String(a.deadline));
      head.append(el("code", "", a.id), " ", el("span", "badge", a.kind), " ", el("strong", "", a.requester), " on ", el("strong", "", a.connection), " · asked " + fmt(a.created_at) + " · decide by " + fmt(a.deadline) + " ", el("span", "countdown"));
      li.append(head);
      if (a.statement) li.append(el("pre", "sql", a.statement));
      li.append(el("p", "reason", (a.rule ? a.rule + " " : "") + a.reason));
      if (a.session_id) { var p = el("p"); var link = el("a", "", "session " + a.session_id); link.href = "/console/sessions/" + encodeURIComponent(a.session_id); p.append(link); li.append(p); }
      var f = el("form", "decide"); f.setAttribute("data-request", a.id);
      var inp = el("input"); inp.name = "reason"; inp.placeholder = "Reason (required)"; inp.maxLength = 1000;
      var ok = el("button", "approve", "Approve"); ok.type = "button"; ok.setAttribute("data-verdict", "approve");
      var no = el("button", "deny", "Deny"); no.type = "button"; no.setAttribute("data-verdict", "deny");
      var st = el("span", "result"); st.setAttribute("role", "status");
      f.append(inp, ok, no, st); li.append(f);
      return li;
    };
    var refresh = function () {
      fetch("/console/api/approvals?status=pending", { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (b) {
        if (!b) return;
        var ids = b.items.map(function (a) { return a.id; });
        $$("li.request", pending).forEach(function (li) {
          // Decided elsewhere (another approver, the CLI, a deadline): it moves to the decided list too.
          if (ids.indexOf(li.getAttribute("data-request")) < 0) { var r = $(".result", li); if (r && !r.textContent) r.textContent = "decided elsewhere"; decided(li); }
        });
        b.items.forEach(function (a) { if (!$('li[data-request="' + a.id + '"]', pending)) pending.prepend(item(a)); });
        var empty = $("li.empty", pending); if (empty && b.items.length) empty.remove();
        tick();
      }).catch(function () {});
    };
    setInterval(refresh, 2000);
  }

  // A decided card leaves Pending at once: under Recent, its form disabled, its outcome kept.
  function decided(li) {
    var list = $("#decided");
    if (!li || !list || li.parentNode === list) return;
    li.classList.add("done");
    $$("button, input", li).forEach(function (x) { x.disabled = true; });
    list.prepend(li);
    var p = $("#pending");
    if (p && !$("li.request", p) && !$("li.empty", p)) { var e = document.createElement("li"); e.className = "empty"; e.textContent = "Nothing waits for a decision."; p.append(e); }
  }

  // Time left before each pending request's deadline, every second.
  function tick() {
    $$("#pending li.request[data-deadline]").forEach(function (li) {
      var left = Math.round((Number(li.getAttribute("data-deadline")) - Date.now()) / 1000);
      var c = $(".countdown", li); if (!c) return;
      if (left <= 0) { c.textContent = "deadline passed"; c.className = "countdown late"; return; }
      var m = Math.floor(left / 60), s = left % 60;
      c.textContent = (m ? m + " min " + (s < 10 ? "0" : "") : "") + s + " s left";
      c.className = "countdown" + (left < 60 ? " soon" : "");
    });
  }
  if ($("#pending")) { tick(); setInterval(tick, 1000); }

  var verify = $("#verify-now");
  if (verify) verify.addEventListener("click", function () {
    verify.disabled = true; verify.textContent = "Verifying…";
    fetch("/api/audit/verify", { method: "POST", credentials: "same-origin" }).then(function () { location.reload(); });
  });
})();
`;
