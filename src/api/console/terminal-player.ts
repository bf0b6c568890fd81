// The console's terminal player, bundled with the console (served from memory, no CDN): replays a session's
// asciicast (recording/asciicast.ts) into a character grid drawn as text — never as HTML, so recorded output
// cannot inject markup. A small VT100 subset: printable text, CR, LF, BS, TAB, cursor movement and position
// (CSI A B C D G H f d), erase in display and line (CSI J, K), alternate screen; colours and other
// sequences are skipped. Controls: play/pause, speed, and a seek bar (seeking replays from the start at once).
// `SCREEN_JS` defines `CustosScreen`; `PLAYER_JS` wires it to the replay page's #terminal element.

export const SCREEN_JS = `
function CustosScreen(cols, rows) { this.resize(cols, rows); }
CustosScreen.prototype.resize = function (cols, rows) {
  this.cols = cols; this.rows = rows; this.x = 0; this.y = 0; this.state = 0; this.param = "";
  this.grid = []; for (var i = 0; i < rows; i++) this.grid.push(this.blank());
};
CustosScreen.prototype.blank = function () { return new Array(this.cols + 1).join(" ").split(""); };
CustosScreen.prototype.scroll = function () { this.grid.shift(); this.grid.push(this.blank()); };
CustosScreen.prototype.lf = function () { if (this.y === this.rows - 1) this.scroll(); else this.y++; };
CustosScreen.prototype.write = function (s) {
  for (var i = 0; i < s.length; i++) {
    var ch = s[i], c = s.charCodeAt(i);
    if (this.state === 1) { // after ESC
      if (ch === "[") { this.state = 2; this.param = ""; }
      else if (ch === "]") this.state = 3;
      else this.state = 0;
      continue;
    }
    if (this.state === 2) { // CSI parameters until a final byte (0x40-0x7e)
      if (c >= 0x40 && c <= 0x7e) { this.csi(ch, this.param); this.state = 0; } else this.param += ch;
      continue;
    }
    if (this.state === 3) { // OSC until BEL or ESC \\
      if (c === 7) this.state = 0; else if (c === 27) this.state = 1;
      continue;
    }
    if (c === 27) this.state = 1;
    else if (c === 13) this.x = 0;
    else if (c === 10) this.lf();
    else if (c === 8) { if (this.x > 0) this.x--; }
    else if (c === 9) this.x = Math.min(this.cols - 1, (this.x + 8) & ~7);
    else if (c >= 32) {
      if (this.x >= this.cols) { this.x = 0; this.lf(); }
      this.grid[this.y][this.x++] = ch;
    }
  }
};
CustosScreen.prototype.csi = function (f, p) {
  var priv = p.charAt(0) === "?"; if (priv) p = p.slice(1);
  var a = p.split(";").map(function (v) { return parseInt(v, 10); });
  var n = isNaN(a[0]) || a[0] === 0 ? 1 : a[0];
  var clampY = function (s, v) { return Math.max(0, Math.min(s.rows - 1, v)); };
  var clampX = function (s, v) { return Math.max(0, Math.min(s.cols - 1, v)); };
  if (f === "A") this.y = clampY(this, this.y - n);
  else if (f === "B") this.y = clampY(this, this.y + n);
  else if (f === "C") this.x = clampX(this, this.x + n);
  else if (f === "D") this.x = clampX(this, this.x - n);
  else if (f === "G") this.x = clampX(this, n - 1);
  else if (f === "d") this.y = clampY(this, n - 1);
  else if (f === "H" || f === "f") { this.y = clampY(this, (a[0] || 1) - 1); this.x = clampX(this, (a[1] || 1) - 1); }
  else if (f === "J") {
    var m = a[0] || 0, y;
    if (m === 2 || m === 3) { for (y = 0; y < this.rows; y++) this.grid[y] = this.blank(); }
    else if (m === 0) { for (var x = this.x; x < this.cols; x++) this.grid[this.y][x] = " "; for (y = this.y + 1; y < this.rows; y++) this.grid[y] = this.blank(); }
  } else if (f === "K") {
    var k = a[0] || 0, from = k === 0 ? this.x : 0, to = k === 1 ? this.x + 1 : this.cols;
    for (var j = from; j < to; j++) this.grid[this.y][j] = " ";
  } else if (priv && (f === "h" || f === "l") && (a[0] === 1049 || a[0] === 47)) {
    for (var r = 0; r < this.rows; r++) this.grid[r] = this.blank(); this.x = 0; this.y = 0;
  }
};
CustosScreen.prototype.text = function () {
  return this.grid.map(function (r) { return r.join("").replace(/\\s+$/, ""); }).join("\\n");
};
`;

export const PLAYER_JS = `"use strict";
(function () {
${SCREEN_JS}
  var el = document.getElementById("terminal");
  var data = document.getElementById("cast-data");
  if (!el || !data) return;
  var cast = JSON.parse(data.textContent);
  var screen = null, at = 0, next = 0, timer = null, speed = 1, last = 0;
  var seek = document.getElementById("term-seek"), clock = document.getElementById("term-time");
  var end = cast.events.length ? cast.events[cast.events.length - 1][0] : 0;
  if (seek) seek.max = String(end);
  function reset() { screen = new CustosScreen(cast.header.width, cast.header.height); next = 0; at = 0; }
  function apply(e) {
    if (e[1] === "o") screen.write(e[2]);
    else if (e[1] === "r") { var m = /^(\\d+)x(\\d+)$/.exec(e[2]); if (m) { var keep = screen.text(); screen.resize(+m[1], +m[2]); screen.write(keep.split("\\n").slice(-screen.rows).join("\\r\\n")); } }
  }
  function draw() {
    el.textContent = screen.text();
    if (seek) seek.value = String(at);
    if (clock) clock.textContent = at.toFixed(1) + " / " + end.toFixed(1) + " s";
  }
  function to(t) { if (t < at) reset(); while (next < cast.events.length && cast.events[next][0] <= t) apply(cast.events[next++]); at = t; draw(); }
  function tick() {
    var now = performance.now(); var t = at + ((now - last) / 1000) * speed; last = now;
    to(Math.min(t, end));
    if (at >= end) stop(); else timer = setTimeout(tick, 30);
  }
  function play() { if (timer) return; if (at >= end) reset(); last = performance.now(); timer = setTimeout(tick, 0); label("Pause"); }
  function stop() { clearTimeout(timer); timer = null; label("Play"); }
  function label(s) { var b = document.getElementById("term-play"); if (b) b.textContent = s; }
  reset(); to(0);
  var playBtn = document.getElementById("term-play");
  if (playBtn) playBtn.addEventListener("click", function () { if (timer) stop(); else play(); });
  var sp = document.getElementById("term-speed");
  if (sp) sp.addEventListener("change", function () { speed = +sp.value || 1; });
  if (seek) seek.addEventListener("input", function () { to(+seek.value); });
  var endBtn = document.getElementById("term-end");
  if (endBtn) endBtn.addEventListener("click", function () { stop(); to(end); });
})();
`;

/** The cast as the page embeds it: JSON with `<` escaped, so recorded text cannot end the script element. */
export function castJson(cast: unknown): string {
  return JSON.stringify(cast).replace(/</g, "\\u003c");
}
