'use strict';
// The JavaScript probe: lists the pods of its own namespace every --interval with
// @kubernetes/client-node (KubeConfig.loadFromCluster() and the generated Core API) and
// writes one JSON line per call in the Go probe's schema (apps/probe/probelog): kinds
// start, token and call. It never exits on API errors: its output is the record of
// whether this client-node version keeps sending an expired projected ServiceAccount
// token or picks up the kubelet's refreshed one.
//
// The client library's API differs between eras; adapters/<era>.js hides that (request:
// 0.x, fetch: 1.x), chosen by build.json (written by the harness) or --adapter.

const fs = require('fs');
const path = require('path');

const duration = require('./lib/duration');
const probelog = require('./lib/probelog');
const tokeninfo = require('./lib/tokeninfo');
const wire = require('./lib/wire');

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const LIBRARY = '@kubernetes/client-node';
// callTimeoutMs bounds one List so a hung connection cannot stall the record.
const CALL_TIMEOUT_MS = 30000;
const ADAPTERS = ['request', 'fetch'];

const USAGE = `usage: node probe.js [flags]
  --interval DURATION   time between API calls and token file checks (Go syntax, default 5s)
  --label LABEL         matrix label written on every line (default $PROBE_LABEL, else build.json's)
  --adapter ERA         client-node API era: request (0.x) or fetch (1.x) (default build.json's)
  --token-file PATH     token file to watch for changes (default ${SA_DIR}/token)
  --namespace-file PATH namespace file (env POD_NAMESPACE wins)
  --path-prefix DIR     prefix of the in-cluster files for KubeConfig.loadFromCluster (tests)
  --mode list           the only mode of the JavaScript probe
`;

class UsageError extends Error {}

// parseFlags accepts Go's flag syntax: -name=value, --name=value, --name value.
function parseFlags(argv, defaults) {
  const flags = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help' || a === '-help') throw new UsageError('');
    const m = /^--?([a-z-]+)(?:=(.*))?$/s.exec(a);
    if (!m || !(m[1] in defaults)) throw new UsageError(`flag provided but not defined: ${a}`);
    let v = m[2];
    if (v === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: ${a}`);
      v = argv[++i];
    }
    flags[m[1]] = v;
  }
  return flags;
}

// readJSON returns the parsed file, or undefined when it does not exist.
function readJSON(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  }
}

// libraryVersion reads the version of the client-node this probe resolves, from its
// package.json in the nearest node_modules.
function libraryVersion(from) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pkg = readJSON(path.join(dir, 'node_modules', LIBRARY, 'package.json'));
    if (pkg) return pkg.version || 'unknown';
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

function namespace(file) {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    const ns = fs.readFileSync(file, 'utf8').trim();
    if (ns) return ns;
  } catch (e) {
    // fall through
  }
  return 'default';
}

// TokenWatcher reports the token file when its content (or read error) changes.
class TokenWatcher {
  constructor(file) {
    this.file = file;
    this.last = null;
  }

  check() {
    const line = { kind: probelog.KIND_TOKEN };
    let key;
    try {
      // Newer client-node versions read the file as is; the kubelet writes no whitespace.
      const tok = tokeninfo.trimSpace(fs.readFileSync(this.file).toString('utf8'));
      line.tokenHash = tokeninfo.hash(tok);
      key = line.tokenHash;
      try {
        Object.assign(line, tokeninfo.decode(tok));
      } catch (e) {
        line.tokenError = probelog.cleanError(e.message);
      }
    } catch (e) {
      line.tokenError = probelog.cleanError(e.message);
      key = `error: ${line.tokenError}`;
    }
    if (key === this.last) return null;
    this.last = key;
    return line;
  }
}

function withTimeout(promise, ms) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`call timed out after ${ms / 1000}s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// statusMessage is the apiserver's Status message in an error body, if any.
function statusMessage(body) {
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch (e) {
      return '';
    }
  }
  return body && typeof body === 'object' && typeof body.message === 'string' ? body.message : '';
}

// classify maps a List result to [outcome, status]. The status the library reports wins;
// the one seen on the wire is the fallback for errors that carry none.
function classify(err, libStatus, wireStatus) {
  if (!err) return [probelog.OUTCOME_OK, wireStatus];
  const code = libStatus || wireStatus;
  if (code === 401) return [probelog.OUTCOME_UNAUTHORIZED, 401];
  if (code === 0 || (code >= 200 && code < 300)) return [probelog.OUTCOME_ERROR, code];
  return [probelog.httpOutcome(code), code];
}

// describe is the error text of a failed call: never the error object itself, whose
// request options hold the Authorization header.
function describe(err, status, body) {
  if (status) {
    const msg = statusMessage(body);
    return msg ? `HTTP ${status}: ${msg}` : `HTTP ${status}`;
  }
  if (err instanceof Error) return err.code ? `${err.code}: ${err.message}` : err.message;
  return typeof err === 'string' ? err : 'call failed';
}

// call makes one List and describes it.
async function call(adapter, api, ns, seq) {
  const obs = wire.begin();
  const start = process.hrtime.bigint();
  let err = null;
  try {
    await withTimeout(Promise.resolve().then(() => adapter.list(api, ns)), CALL_TIMEOUT_MS);
  } catch (e) {
    err = e || new Error('call failed');
  }
  const latencyMs = Math.round(Number(process.hrtime.bigint() - start) / 1e3) / 1e3;
  const seen = wire.end(obs);
  const f = err ? adapter.failure(err) : { status: 0 };
  const [outcome, status] = classify(err, f.status, seen.status);
  const line = { kind: probelog.KIND_CALL, seq, outcome, status };
  if (err) line.error = probelog.cleanError(describe(err, f.status, f.body));
  return Object.assign(line, { latencyMs, authHash: seen.authHash, authHashNote: seen.note, requests: seen.requests });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(argv) {
  const build = readJSON(path.join(__dirname, 'build.json')) || {};
  let flags;
  let intervalNs;
  try {
    flags = parseFlags(argv, {
      interval: '5s',
      label: process.env.PROBE_LABEL || build.label || '',
      adapter: build.adapter || '',
      'token-file': '',
      'namespace-file': '',
      'path-prefix': '',
      mode: 'list',
    });
    intervalNs = duration.parse(flags.interval);
    if (intervalNs <= 0) throw new UsageError(`--interval must be positive, got ${flags.interval}`);
    if (flags.mode !== 'list') {
      throw new UsageError(`--mode ${flags.mode} is not supported by the JavaScript probe (only list)`);
    }
    if (!ADAPTERS.includes(flags.adapter)) {
      throw new UsageError(`--adapter must be one of ${ADAPTERS.join(', ')} (got "${flags.adapter}")`);
    }
  } catch (e) {
    process.stderr.write(e.message ? `probe: ${e.message}\n${USAGE}` : USAGE);
    return 2;
  }
  const prefix = flags['path-prefix'];
  const tokenFile = flags['token-file'] || `${prefix}${SA_DIR}/token`;
  const nsFile = flags['namespace-file'] || `${prefix}${SA_DIR}/namespace`;
  const adapter = require(`./adapters/${flags.adapter}`);

  const emit = probelog.writer(process.stdout, flags.label);
  const ns = namespace(nsFile);
  emit({ kind: probelog.KIND_START, clientLibrary: LIBRARY, clientLibraryVersion: libraryVersion(__dirname),
    adapter: adapter.name, nodeVersion: process.version, interval: duration.format(intervalNs), namespace: ns });
  const watch = new TokenWatcher(tokenFile);
  const first = watch.check();
  if (first) emit(first);

  if (!process.env.KUBERNETES_SERVICE_HOST || !process.env.KUBERNETES_SERVICE_PORT) {
    process.stderr.write('probe: not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined\n');
    return 2;
  }
  let api;
  try {
    const k8s = await adapter.load();
    api = adapter.connect(k8s, prefix);
  } catch (e) {
    process.stderr.write(`probe: not running in a cluster: ${probelog.cleanError(e && e.message)}\n`);
    return 2;
  }

  const intervalMs = intervalNs / 1e6;
  let next = Date.now();
  for (let seq = 1; ; seq++) {
    const l = watch.check();
    if (l) emit(l);
    emit(await call(adapter, api, ns, seq));
    // A ticker: calls start every interval; one that overran starts the next at once.
    next += intervalMs;
    const wait = next - Date.now();
    if (wait > 0) await sleep(wait);
    else next = Date.now();
  }
}

if (require.main === module) {
  // A library's stray rejection must not end the record; it is reported without the
  // error object (which may hold request options and so the token).
  process.on('unhandledRejection', (e) => {
    process.stderr.write(`probe: unhandled rejection: ${probelog.cleanError(describe(e, 0))}\n`);
  });
  process.on('uncaughtException', (e) => {
    process.stderr.write(`probe: uncaught exception: ${probelog.cleanError(describe(e, 0))}\n`);
    process.exit(1);
  });
  main(process.argv.slice(2)).then((code) => process.exit(code));
}

module.exports = { parseFlags, classify, describe, statusMessage, TokenWatcher, libraryVersion, UsageError };
