'use strict';
// Go durations ("5s", "1m30s", "500ms"): the harness passes --interval as Go's
// time.Duration.String(), and the start line reports it the same way.

const UNITS = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

// parse returns the duration in nanoseconds, or throws.
function parse(s) {
  const orig = s;
  if (typeof s !== 'string' || s === '') throw new Error(`invalid duration "${orig}"`);
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw new Error(`invalid duration "${orig}"`);
  let total = 0;
  const re = /^([0-9]*(?:\.[0-9]*)?)([a-zµμ]+)/;
  while (s !== '') {
    const m = re.exec(s);
    if (!m || m[1] === '' || m[1] === '.') throw new Error(`invalid duration "${orig}"`);
    const unit = UNITS[m[2]];
    if (unit === undefined) throw new Error(`unknown unit "${m[2]}" in duration "${orig}"`);
    total += Number(m[1]) * unit;
    s = s.slice(m[0].length);
  }
  return sign * Math.round(total);
}

// fmtFrac prints v / 10^prec with the fraction's trailing zeros (and a bare dot) removed.
function fmtFrac(v, prec) {
  const scale = 10 ** prec;
  const whole = Math.floor(v / scale);
  let frac = String(v % scale).padStart(prec, '0').replace(/0+$/, '');
  return frac === '' ? String(whole) : `${whole}.${frac}`;
}

// format is Go's time.Duration.String for ns nanoseconds.
function format(ns) {
  ns = Math.round(ns);
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = Math.abs(ns);
  let out;
  if (u < 1e9) {
    if (u < 1e3) out = `${u}ns`;
    else if (u < 1e6) out = `${fmtFrac(u, 3)}µs`;
    else out = `${fmtFrac(u, 6)}ms`;
  } else {
    const h = Math.floor(u / 3600e9);
    u -= h * 3600e9;
    const m = Math.floor(u / 60e9);
    u -= m * 60e9;
    out = `${fmtFrac(u, 9)}s`;
    if (h > 0) out = `${h}h${m}m${out}`;
    else if (m > 0) out = `${m}m${out}`;
  }
  return neg ? `-${out}` : out;
}

module.exports = { parse, format };
