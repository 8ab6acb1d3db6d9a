// pgshift's web page: sign-in, the fleet view and the migration view, drawn from the server's
// JSON API (/v1) and kept live by its server-sent event streams.
//
// Why it is written this way:
// - No framework and no build step: the server serves this file as it is (compiled into the
//   binary), so the page is plain DOM code. Every text from the API goes in through
//   textContent (the h() builder), never innerHTML, so nothing the API says can become markup.
// - The token is kept in sessionStorage and sent as `Authorization: Bearer`; it is never put
//   in a URL. That is also why the streams are read with fetch() and a ReadableStream:
//   EventSource cannot send the header.
// - Only what is meant for people is rendered: chosen fields of a migration, never its spec
//   as a whole (the API never returns a secret; the page does not show commands or raw
//   configuration either).

const TOKEN_KEY = 'pgshift.token';

// The forward path of a migration, in order, and the phases off it.
const FORWARD_PHASES = [
  'created', 'replicating', 'validating', 'ready_for_cutover', 'pausing', 'fencing',
  'draining', 'promoting', 'slot_handover', 'switching', 'verifying', 'completed',
];
const OTHER_PHASES = ['rolling_back', 'rolled_back', 'failed'];
const PHASE_LABELS = {
  created: 'Created',
  replicating: 'Replicating',
  validating: 'Validating',
  ready_for_cutover: 'Ready for cutover',
  pausing: 'Pausing traffic',
  fencing: 'Fencing the source',
  draining: 'Draining',
  promoting: 'Promoting',
  slot_handover: 'Slot handover',
  switching: 'Switching',
  verifying: 'Verifying',
  completed: 'Completed',
  rolling_back: 'Rolling back',
  rolled_back: 'Rolled back',
  failed: 'Failed',
};
const STATE_LABELS = {
  running: 'Running',
  waiting_for_cutover: 'Waiting for cutover',
  completed: 'Completed',
  rolled_back: 'Rolled back',
  failed: 'Failed',
};
// Above this much replication lag the fleet view calls a migration lagging (the engine's
// default gate; a migration's own max_lag_bytes is used where the page knows it).
const DEFAULT_MAX_LAG_BYTES = 16 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Small pieces: DOM building and formatting.

// h('tag.class', {attr: value, onclick: fn}, children...): an element; strings become text.
function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = tag === 'svg' || SVG_TAGS.has(tag)
    ? document.createElementNS('http://www.w3.org/2000/svg', tag)
    : document.createElement(tag);
  if (classes.length) el.setAttribute('class', classes.join(' '));
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'text') el.textContent = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}
const SVG_TAGS = new Set(['g', 'path', 'line', 'text', 'title', 'desc', 'rect', 'circle', 'polyline']);

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

function phaseLabel(phase) {
  return PHASE_LABELS[phase] || phase || '—';
}

// A migration's state for people: the API calls a created, unstarted migration "running";
// the page says it has not started (a summary does not say whether it was started: the
// moment between Start and replicating is short).
function stateLabel(m) {
  if (m.phase === 'created' && !m.started) return 'Not started';
  return STATE_LABELS[m.state] || m.state || '—';
}

function isUnderway(m) {
  return m.state === 'running' && m.phase !== 'created';
}

// API times are seconds since the epoch (numbers) or RFC 3339 strings.
function toDate(value) {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'number') return new Date(value > 1e12 ? value : value * 1000);
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

function pad(n) {
  return String(n).padStart(2, '0');
}

function formatTime(value) {
  const d = toDate(value);
  if (!d) return '—';
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function formatDateTime(value) {
  const d = toDate(value);
  if (!d) return '—';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${formatTime(value)}`;
}

function formatBytes(bytes) {
  if (bytes === undefined || bytes === null || Number.isNaN(Number(bytes))) return '—';
  let v = Number(bytes);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

function formatRate(bytesPerSecond) {
  if (bytesPerSecond === undefined || bytesPerSecond === null) return '—';
  return `${formatBytes(bytesPerSecond)}/s`;
}

function formatSeconds(seconds) {
  if (seconds === undefined || seconds === null || Number.isNaN(Number(seconds))) return '—';
  const s = Number(seconds);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

// Evidence values: numbers and strings as they are, anything else as compact JSON.
function formatValue(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== 'object')) {
    return value.length ? value.join(', ') : 'none';
  }
  return JSON.stringify(value);
}

function humanize(key) {
  const text = String(key).replace(/_/g, ' ')
    .replace(/\b(wal|lsn|cdc|id|sql)\b/gi, (w) => w.toUpperCase());
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// ---------------------------------------------------------------------------------------------
// The API: requests with the token, errors from the API's error body.

class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function authHeaders() {
  return { Authorization: `Bearer ${token()}` };
}

async function errorFromResponse(resp) {
  let text = '';
  try {
    text = await resp.text();
  } catch {
    // the body is gone; the status still says something
  }
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  const e = (body && body.error) || {};
  return new ApiError(resp.status, e.code || `http_${resp.status}`,
                      e.message || resp.statusText || `HTTP ${resp.status}`, e.field);
}

async function api(method, path, body) {
  const headers = authHeaders();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (err) {
    throw new ApiError(0, 'unavailable', `The server could not be reached (${err.message}).`);
  }
  if (!resp.ok) {
    const err = await errorFromResponse(resp);
    if (resp.status === 401) signOut('The server did not accept the token. Sign in again.');
    throw err;
  }
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}

// Reads a server-sent event stream with fetch (the Authorization header goes along) and calls
// onEvent(name, data) for each event; comments (the heartbeat) are skipped. Reconnects with
// back-off until `signal` aborts; onLive(true|false) says whether it is connected.
async function followStream(path, onEvent, onLive, signal) {
  let backoff = 1000;
  while (!signal.aborted) {
    try {
      const resp = await fetch(path, {
        headers: { ...authHeaders(), Accept: 'text/event-stream' },
        cache: 'no-store',
        signal,
      });
      if (resp.status === 401) {
        signOut('The server did not accept the token. Sign in again.');
        return;
      }
      if (!resp.ok || !resp.body) throw await errorFromResponse(resp);
      onLive(true);
      backoff = 1000;
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let event = 'message';
      let data = [];
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n')) >= 0) {
          let line = buffer.slice(0, end);
          buffer = buffer.slice(end + 1);
          if (line.endsWith('\r')) line = line.slice(0, -1);
          if (line === '') {
            if (data.length) onEvent(event, data.join('\n'));
            event = 'message';
            data = [];
          } else if (!line.startsWith(':')) {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            let v = colon < 0 ? '' : line.slice(colon + 1);
            if (v.startsWith(' ')) v = v.slice(1);
            if (field === 'event') event = v;
            else if (field === 'data') data.push(v);
          }
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof ApiError && err.status === 404) {
        onLive(false);
        return;  // the view shows the not-found itself
      }
    }
    if (signal.aborted) return;
    onLive(false);
    await sleep(backoff, signal);
    backoff = Math.min(backoff * 2, 15000);
  }
}

// ---------------------------------------------------------------------------------------------
// Page frame: errors, notices, identity, the live indicator.

const els = {};

function showError(err, context) {
  const banner = els.errorBanner;
  const parts = [];
  if (context) parts.push(h('strong', {}, `${context}: `));
  parts.push(err.message || String(err));
  if (err.field) parts.push(h('span.field', {}, ` (field: ${err.field})`));
  if (err.code) parts.push(h('span.code', {}, ` [${err.code}]`));
  replaceChildren(banner, h('p', {}, parts),
                  h('button.quiet', { type: 'button', onclick: clearError }, 'Dismiss'));
  banner.hidden = false;
}

function clearError() {
  els.errorBanner.hidden = true;
  els.errorBanner.replaceChildren();
}

let noticeTimer = null;
function showNotice(text) {
  els.notice.textContent = text;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    els.notice.textContent = '';
  }, 8000);
}

function liveIndicator() {
  return h('span.live.offline', { 'data-testid': 'live-status', role: 'status' }, 'connecting…');
}

function setLive(indicator, live) {
  indicator.textContent = live ? 'live' : 'reconnecting…';
  indicator.classList.toggle('offline', !live);
}

// ---------------------------------------------------------------------------------------------
// Sign-in.

let whoami = null;
let viewAbort = null;  // aborts the current view's streams when the view changes

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  whoami = null;
  viewAbort?.abort();
  renderIdentity();
  renderSignIn(message);
}

function renderIdentity() {
  if (!whoami) {
    els.identity.hidden = true;
    return;
  }
  const who = whoami.platform ? `${whoami.team} (platform)` : whoami.team;
  els.identityText.textContent = `Signed in as ${whoami.identity}, team ${who}`;
  els.identity.hidden = false;
}

function renderSignIn(message) {
  const input = h('input', {
    id: 'token-input', name: 'token', type: 'password', autocomplete: 'off', required: true,
    spellcheck: 'false', 'aria-describedby': 'token-help',
  });
  const error = h('p.form-error', { role: 'alert', 'data-testid': 'sign-in-error' }, message || '');
  const form = h('form.sign-in', { 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title' }, 'Sign in to pgshift'),
    h('label', { for: 'token-input' }, 'API token'),
    input,
    h('p.help', { id: 'token-help' }, 'A token from ',
      h('code', {}, 'pgshift server token create --team TEAM'), '. It stays in this tab only.'),
    error,
    h('button', { type: 'submit' }, 'Sign in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = input.value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    error.textContent = '';
    try {
      whoami = await api('GET', '/v1/whoami');
    } catch (err) {
      sessionStorage.removeItem(TOKEN_KEY);
      whoami = null;
      // A refused token: signOut() has redrawn the form already; say why on it.
      const shown = document.querySelector('[data-testid="sign-in-error"]');
      if (shown) shown.textContent = err.status === 401
        ? 'That token was not accepted.' : `Sign-in failed: ${err.message}`;
      return;
    }
    renderIdentity();
    route();
  });
  clearError();
  replaceChildren(els.main, form);
  input.focus();
}

// ---------------------------------------------------------------------------------------------
// Fleet view: every cluster the viewer may see with its latest migration.

const fleetFilters = { team: '', phase: '' };

async function renderFleet(signal) {
  const heading = h('h1', {}, 'Fleet');
  const live = liveIndicator();
  const loading = h('p.muted', {}, 'Loading the fleet…');
  replaceChildren(els.main, h('div.view-head', {}, heading, live), loading);

  let clusters;
  let summaries;
  try {
    const [c, m] = await Promise.all([api('GET', '/v1/clusters'), api('GET', '/v1/migrations')]);
    clusters = c.clusters || [];
    summaries = m.migrations || [];
  } catch (err) {
    if (signal.aborted) return;
    loading.textContent = 'The fleet could not be loaded.';
    showError(err, 'Loading the fleet');
    return;
  }
  if (signal.aborted) return;

  const byName = new Map(summaries.map((s) => [s.name, s]));
  const clusterNames = new Set(clusters.map((c) => c.name));

  const teamSelect = h('select', { id: 'filter-team', name: 'team' });
  const phaseSelect = h('select', { id: 'filter-phase', name: 'phase' },
    h('option', { value: '' }, 'All phases'),
    h('option', { value: 'none' }, 'No migration'),
    [...FORWARD_PHASES, ...OTHER_PHASES].map((p) => h('option', { value: p }, phaseLabel(p))));
  phaseSelect.value = fleetFilters.phase;
  const count = h('p.muted', { 'data-testid': 'fleet-count', role: 'status' });
  const tbody = h('tbody');
  const table = h('table.fleet', { 'data-testid': 'fleet-table' },
    h('caption', {}, 'Clusters and their latest migration'),
    h('thead', {}, h('tr', {},
      ['Cluster', 'Team', 'Migration', 'Phase', 'State', 'Lag', 'Health', 'Updated'].map(
        (c) => h('th', { scope: 'col' }, c)))),
    tbody);

  function latestFor(cluster) {
    let best = cluster.migration?.name ? byName.get(cluster.migration.name) : undefined;
    for (const s of byName.values()) {
      if (s.cluster === cluster.name && (!best || (s.updated_at ?? 0) > (best.updated_at ?? 0))) {
        best = s;
      }
    }
    if (!best && cluster.migration) return { ...cluster.migration, cluster: cluster.name };
    return best;
  }

  function fillTeams() {
    const teams = [...new Set(clusters.map((c) => c.team).filter(Boolean))].sort();
    replaceChildren(teamSelect, h('option', { value: '' }, 'All teams'),
                    teams.map((t) => h('option', { value: t }, t)));
    teamSelect.value = teams.includes(fleetFilters.team) ? fleetFilters.team : '';
  }

  function draw() {
    const rows = [];
    let shown = 0;
    let running = 0;
    for (const cluster of [...clusters].sort((a, b) => a.name.localeCompare(b.name))) {
      const m = latestFor(cluster);
      if (m && isUnderway(m)) running++;
      if (fleetFilters.team && cluster.team !== fleetFilters.team) continue;
      if (fleetFilters.phase === 'none' && m) continue;
      if (fleetFilters.phase && fleetFilters.phase !== 'none' && m?.phase !== fleetFilters.phase) {
        continue;
      }
      shown++;
      const health = healthOf(m);
      rows.push(h('tr', { 'data-testid': `fleet-row-${cluster.name}` },
        h('th', { scope: 'row' }, cluster.name),
        h('td', {}, cluster.team || '—'),
        h('td', {},
          m ? h('a', { href: `#/migrations/${encodeURIComponent(m.name)}` }, m.name)
            : h('span.muted', {}, 'none'),
          !m || m.state === 'completed' || m.state === 'rolled_back'
            ? h('button.quiet.small', {
                type: 'button', 'aria-label': `New migration for ${cluster.name}`,
                onclick: () => newMigration(cluster, m),
              }, 'New migration')
            : null),
        h('td', {}, m ? phaseBadge(m.phase) : '—'),
        h('td', {}, m ? stateLabel(m) : '—'),
        h('td.num', {}, m && isLive(m) && m.lag_bytes !== undefined ? formatBytes(m.lag_bytes) : '—'),
        h('td', {}, h(`span.health.${health.level}`, {}, health.text)),
        h('td', {}, m?.updated_at ? formatTime(m.updated_at) : '—')));
    }
    if (!rows.length) {
      rows.push(h('tr', {}, h('td.muted', { colspan: 8 },
        clusters.length ? 'No cluster matches the filters.' : 'No cluster is registered for you yet.')));
    }
    replaceChildren(tbody, rows);
    count.textContent = `${shown} of ${clusters.length} clusters shown; ${running} migrations running.`;
  }

  // With hundreds of migrations the stream brings many events a second: one redraw a frame.
  let drawPending = false;
  function drawSoon() {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(() => {
      drawPending = false;
      if (!signal.aborted) draw();
    });
  }

  teamSelect.addEventListener('change', () => {
    fleetFilters.team = teamSelect.value;
    draw();
  });
  phaseSelect.addEventListener('change', () => {
    fleetFilters.phase = phaseSelect.value;
    draw();
  });
  fillTeams();
  draw();

  const filters = h('form.filters', { 'aria-label': 'Filters', onsubmit: (e) => e.preventDefault() },
    h('label', { for: 'filter-team' }, 'Team'), teamSelect,
    h('label', { for: 'filter-phase' }, 'Phase'), phaseSelect);
  replaceChildren(els.main, h('div.view-head', {}, heading, live), filters, count, table);

  // Live: each summary that changes updates its row; a migration or cluster the page has not
  // seen yet reloads the cluster list (a new cluster may have been registered).
  let reloading = false;
  followStream('/v1/stream', async (event, data) => {
    if (event !== 'status') return;
    let s;
    try {
      s = JSON.parse(data);
    } catch {
      return;
    }
    if (!s || !s.name) return;
    byName.set(s.name, { ...byName.get(s.name), ...s });
    if (s.cluster && !clusterNames.has(s.cluster) && !reloading) {
      reloading = true;
      try {
        clusters = (await api('GET', '/v1/clusters')).clusters || [];
        clusters.forEach((c) => clusterNames.add(c.name));
        fillTeams();
      } catch {
        // keep the rows the page has; the next event tries again
      } finally {
        reloading = false;
      }
    }
    if (!signal.aborted) drawSoon();
  }, (on) => setLive(live, on), signal);
}

// Creates a migration for `cluster` from a dialog (name and the gate's options), then opens
// it. The server validates it like `migrate start` (source reachable, target free) and records
// nothing when it refuses; its error, naming the field, is shown.
async function newMigration(cluster, previous) {
  let n = 1;
  const match = previous?.name?.match(/-(\d+)$/);
  if (match) n = Number(match[1]) + 1;
  const name = h('input', { id: 'new-name', type: 'text', required: true, value: `${cluster.name}-${n}`,
                            autocomplete: 'off', spellcheck: 'false' });
  const checkWindow = h('input', { id: 'new-window', type: 'number', min: '1', max: '3600', step: '1',
                              required: true, value: '5' });
  const maxLag = h('input', { id: 'new-max-lag', type: 'number', min: '1', step: '1', required: true,
                              value: '16' });
  const auto = h('input', { id: 'new-auto', type: 'checkbox' });
  const ok = await confirmDialog({
    title: `New migration for ${cluster.name}`,
    text: 'The server checks that the source is reachable and the target is free, and records ' +
          'the migration; Start on its page then builds and validates the target.',
    fields: [
      h('div.field', {}, h('label', { for: 'new-name' }, 'Migration name'), name),
      h('div.field', {}, h('label', { for: 'new-window' }, 'Lag check window (seconds)'), checkWindow),
      h('div.field', {}, h('label', { for: 'new-max-lag' }, 'Lag gate (MiB)'), maxLag),
      h('div.field.checkbox', {}, auto,
        h('label', { for: 'new-auto' }, 'Cut over automatically once every gate is green')),
    ],
    confirmLabel: 'Create migration',
    danger: false,
  });
  if (!ok) return;
  const body = {
    name: name.value.trim(),
    cluster: cluster.name,
    options: {
      check_window_s: Number(checkWindow.value),
      max_lag_bytes: Math.round(Number(maxLag.value) * 1024 * 1024),
      auto_cutover: auto.checked,
    },
  };
  try {
    await api('POST', '/v1/migrations', body);
  } catch (err) {
    showError(err, `Creating migration ${body.name}`);
    return;
  }
  location.hash = `#/migrations/${encodeURIComponent(body.name)}`;
}

// A migration not finished: its lag still means something.
function isLive(m) {
  return m.state === 'running' || m.state === 'waiting_for_cutover';
}

// A migration's health in one word, from its summary.
function healthOf(m, maxLagBytes = DEFAULT_MAX_LAG_BYTES) {
  if (!m) return { level: 'none', text: 'No migration' };
  if (m.health && typeof m.health === 'string') {
    const level = /ok|healthy|pass/i.test(m.health) ? 'ok' : /fail|bad/i.test(m.health) ? 'bad' : 'warn';
    return { level, text: humanize(m.health) };
  }
  if (m.state === 'failed') return { level: 'bad', text: 'Failed' };
  if (m.phase === 'rolling_back') return { level: 'warn', text: 'Rolling back' };
  if (m.state === 'rolled_back') return { level: 'warn', text: 'Rolled back' };
  if (m.state === 'completed') return { level: 'ok', text: 'Done' };
  if (m.phase === 'created') return { level: 'none', text: '—' };
  if (typeof m.lag_bytes === 'number' && m.lag_bytes > maxLagBytes) {
    return { level: 'warn', text: 'Lagging' };
  }
  return { level: 'ok', text: 'Healthy' };
}

function phaseBadge(phase) {
  let kind = 'progress';
  if (phase === 'completed') kind = 'done';
  else if (phase === 'failed') kind = 'bad';
  else if (phase === 'rolling_back' || phase === 'rolled_back') kind = 'warn';
  else if (phase === 'ready_for_cutover') kind = 'ready';
  else if (phase === 'created') kind = 'idle';
  return h(`span.badge.${kind}`, { 'data-phase': phase }, phaseLabel(phase));
}

// ---------------------------------------------------------------------------------------------
// Migration view.

// What each action does, for its button and its confirmation.
const ACTIONS = [
  { key: 'start', label: 'Start', danger: false,
    title: 'Start this migration?',
    text: 'The server builds the target as a replica of the source, validates it under traffic ' +
          'and waits at the cutover gate. Nothing is switched yet.' },
  { key: 'arm', label: 'Arm cutover…', danger: false,
    title: 'Arm a scheduled cutover?',
    text: 'The cutover is taken automatically once every gate is green inside the window. ' +
          'Every gate is judged again at the moment of the switch.' },
  { key: 'disarm', label: 'Disarm', danger: false,
    title: 'Disarm the scheduled cutover?',
    text: 'The migration keeps waiting at the gate; nothing is switched.' },
  { key: 'approve', label: 'Approve cutover', danger: false,
    title: 'Approve the cutover?',
    text: 'Your approval lets this team\'s cutover go ahead for the approval\'s validity.' },
  { key: 'cutover', label: 'Cut over now', danger: true,
    title: 'Cut over now?',
    text: 'Traffic is paused at transaction boundaries, the source is fenced, the target ' +
          'replays the last WAL and is promoted, and traffic resumes on the target.' },
  { key: 'rollback', label: 'Roll back', danger: true,
    title: 'Roll back this migration?',
    text: 'Traffic goes back to the source. Before promotion nothing is lost; after it, the ' +
          'target\'s writes are lost unless you keep them.' },
  { key: 'cancel', label: 'Cancel migration', danger: true,
    title: 'Cancel this migration?',
    text: 'The migration stops and is rolled back; the source stays authoritative.' },
];

function renderNotFound(name, err) {
  replaceChildren(els.main,
    h('section.not-found', { 'data-testid': 'not-found', 'aria-labelledby': 'nf-title' },
      h('h1', { id: 'nf-title' }, 'Migration not found'),
      h('p', {}, `No migration named “${name}” is visible to you.`),
      err?.message ? h('p.muted', {}, `The server said: ${err.message}`) : null,
      h('p', {}, h('a', { href: '#/' }, 'Back to the fleet'))));
}

async function renderMigration(name, signal) {
  replaceChildren(els.main, h('p.muted', {}, `Loading migration ${name}…`));
  const path = `/v1/migrations/${encodeURIComponent(name)}`;
  let m;
  try {
    m = await api('GET', path);
  } catch (err) {
    if (signal.aborted) return;
    if (err.status === 404) {
      renderNotFound(name, err);
      return;
    }
    replaceChildren(els.main, h('p.muted', {}, 'The migration could not be loaded.'));
    showError(err, `Loading migration ${name}`);
    return;
  }
  if (signal.aborted) return;

  // The frame is drawn once; each section is redrawn in place when the migration changes.
  const live = liveIndicator();
  const s = {
    title: h('h1', { 'data-testid': 'migration-name' }, name),
    badges: h('div.badges'),
    summary: h('dl.facts', { 'data-testid': 'migration-facts' }),
    actions: h('div.actions', { role: 'group', 'aria-label': 'Actions', 'data-testid': 'actions' }),
    actionNote: h('p.muted.action-note', { 'data-testid': 'action-note' }),
    arm: h('div', { 'data-testid': 'arm-state' }),
    timeline: h('ol.timeline', { 'data-testid': 'timeline', 'aria-label': 'Phase timeline' }),
    charts: h('div.charts'),
    checks: h('div', { 'data-testid': 'checks' }),
    plan: h('div', { 'data-testid': 'plan' }),
    events: h('div', { 'data-testid': 'events' }),
  };
  const folding = new Map();  // check name -> open, as the reader left it
  const buttons = {};
  for (const a of ACTIONS) {
    buttons[a.key] = h(`button.${a.danger ? 'danger' : 'primary'}`, {
      type: 'button', 'data-action': a.key, disabled: true,
      onclick: () => confirmAction(a),
    }, a.label);
  }
  append(s.actions, Object.values(buttons));

  const planButton = h('button.quiet', { type: 'button', onclick: () => loadPlan() }, 'Refresh plan');
  const section = (id, title, ...body) => h('section.panel', { 'aria-labelledby': id },
    h('h2', { id }, title), ...body);
  replaceChildren(els.main,
    h('p.crumbs', {}, h('a', { href: '#/' }, 'Fleet'), ' / ', name),
    h('div.view-head', {}, s.title, s.badges, live),
    s.summary,
    section('actions-title', 'Actions', s.actions, s.actionNote, s.arm),
    section('timeline-title', 'Phases', s.timeline),
    section('charts-title', 'Replication', s.charts),
    section('checks-title', 'Checks', s.checks),
    section('plan-title', 'Cutover plan', h('div.section-tools', {}, planButton), s.plan),
    section('events-title', 'Event log', s.events));

  let busy = false;
  let lastPhase = null;

  // Redraws from a migration's JSON. A reply older than what is shown (a reload answered
  // after the stream's newer event) is dropped, so the page never steps back a phase.
  function update(next) {
    if (typeof next.updated_at === 'number' && typeof m.updated_at === 'number' &&
        next.updated_at < m.updated_at) {
      return;
    }
    m = next;
    replaceChildren(s.badges, phaseBadge(m.phase),
      h('span.state', { 'data-testid': 'migration-state' }, stateLabel(m)));
    s.badges.setAttribute('data-phase', m.phase);
    s.badges.setAttribute('data-state', m.state);
    drawFacts(s.summary, m);
    for (const a of ACTIONS) {
      const allowed = m.actions?.[a.key] === true;
      buttons[a.key].disabled = busy || !allowed;
      // Approval exists only for teams that require it: the button shows while it may be
      // given or once it was.
      buttons[a.key].hidden = a.key === 'approve' && !allowed && !m.approval;
    }
    s.actionNote.textContent = actionNote(m);
    drawArm(s.arm, m);
    drawTimeline(s.timeline, m);
    drawCharts(s.charts, m);
    drawChecks(s.checks, m, folding);
    drawEvents(s.events, m);
    if (m.phase !== lastPhase) {
      lastPhase = m.phase;
      loadPlan();
    }
  }

  let planSeq = 0;
  async function loadPlan() {
    const seq = ++planSeq;
    if (m.phase === 'completed' || m.phase === 'rolled_back') {
      planButton.hidden = true;
      replaceChildren(s.plan, h('p.muted', { 'data-testid': 'plan-unavailable' },
        'The migration is finished: there is no cutover left to plan.'));
      return;
    }
    planButton.hidden = false;
    try {
      const plan = await api('GET', `${path}/plan`);
      if (seq === planSeq && !signal.aborted) drawPlan(s.plan, plan);
    } catch (err) {
      if (seq !== planSeq || signal.aborted) return;
      replaceChildren(s.plan, h('p.muted', { 'data-testid': 'plan-unavailable' },
        `No plan now: ${err.message}`));
    }
  }

  async function refresh() {
    try {
      const next = await api('GET', path);
      if (!signal.aborted) update(next);
    } catch (err) {
      if (signal.aborted) return;
      if (err.status === 404) renderNotFound(name, err);
      else showError(err, `Reloading migration ${name}`);
    }
  }

  async function confirmAction(a) {
    const fields = [];
    let read = () => undefined;
    if (a.key === 'arm') {
      const now = new Date();
      const notBefore = h('input', { id: 'arm-not-before', type: 'datetime-local', required: true,
                                     value: localInputValue(now) });
      const windowEnd = h('input', { id: 'arm-window-end', type: 'datetime-local', required: true,
                                     value: localInputValue(new Date(now.getTime() + 3600e3)) });
      fields.push(h('div.field', {}, h('label', { for: 'arm-not-before' }, 'Not before'), notBefore),
                  h('div.field', {}, h('label', { for: 'arm-window-end' }, 'Window end'), windowEnd));
      read = () => ({ not_before: rfc3339(notBefore.value), window_end: rfc3339(windowEnd.value) });
    } else if (a.key === 'rollback') {
      const keep = h('input', { id: 'rollback-keep', type: 'checkbox' });
      fields.push(h('div.field.checkbox', {}, keep,
        h('label', { for: 'rollback-keep' },
          'Keep the target\'s writes (after promotion: the old source follows the new primary first)')));
      read = () => ({ keep_target_writes: keep.checked });
    }
    const confirmed = await confirmDialog({
      title: a.title, text: a.text, fields, confirmLabel: a.label.replace('…', ''), danger: a.danger,
    });
    if (!confirmed) return;
    let body;
    try {
      body = read();
    } catch (err) {
      showError(err, a.label.replace('…', ''));
      return;
    }
    busy = true;
    update(m);
    try {
      await api('POST', `${path}/${a.key}`, body);
      clearError();
      showNotice(`${a.label.replace('…', '')}: requested for ${name}.`);
    } catch (err) {
      showError(err, a.label.replace('…', ''));
    } finally {
      busy = false;
    }
    if (signal.aborted) return;
    update(m);  // the buttons again, even if the reload below fails
    await refresh();
  }

  update(m);
  // The current phase's clock runs between events.
  const tick = setInterval(() => {
    if (signal.aborted) clearInterval(tick);
    else drawTimeline(s.timeline, m);
  }, 1000);
  followStream(`${path}/stream`, (event, data) => {
    if (event !== 'status' || signal.aborted) return;
    try {
      update(JSON.parse(data));
    } catch {
      // a malformed event: the next one redraws
    }
  }, (on) => setLive(live, on), signal);
}

function localInputValue(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:` +
         `${pad(d.getMinutes())}`;
}

// A datetime-local value (the browser's time zone) as RFC 3339 in UTC, whole seconds.
function rfc3339(value) {
  const d = new Date(value);
  if (!value || Number.isNaN(d.getTime())) throw new Error(`"${value}" is not a date and time`);
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function actionNote(m) {
  if (m.phase === 'created' && m.started) return 'Started: the server is building the target.';
  if (m.phase === 'created') return 'Start builds the target and validates it; nothing is switched.';
  if (m.state === 'waiting_for_cutover') {
    return 'Every gate is green: the migration waits at the gate for a cutover.';
  }
  if (m.phase === 'validating') return 'Validating under traffic: the cutover opens once every gate is green.';
  if (m.state === 'completed') return 'The migration is complete: traffic runs on the target.';
  if (m.state === 'rolled_back') return 'The migration was rolled back: traffic runs on the source.';
  if (m.state === 'failed') return 'The migration stopped; see the event log. Rolling back stays possible.';
  return '';
}

// "source (host=... port=...)" as the API labels an endpoint: the part in parentheses.
function endpointLabel(label) {
  const inner = typeof label === 'string' && label.match(/^\w+ \((.*)\)$/);
  return inner ? inner[1] : label;
}

function drawFacts(dl, m) {
  const spec = m.spec || {};
  const rows = [
    ['Cluster', m.cluster],
    ['Team', m.team],
    ['Source', endpointLabel(m.source)],
    ['Target', endpointLabel(m.target)],
    ['Created', formatDateTime(m.created_at)],
    ['Updated', formatDateTime(m.updated_at)],
    ['Check window', spec.check_window_ms !== undefined ? formatSeconds(spec.check_window_ms / 1000) : undefined],
    ['Lag gate', spec.max_lag_bytes !== undefined ? formatBytes(spec.max_lag_bytes) : undefined],
    ['Automatic cutover', spec.auto_cutover === undefined ? undefined : spec.auto_cutover ? 'yes' : 'no'],
    ['Replication lag', isLive(m) && typeof m.lag_bytes === 'number' ? formatBytes(m.lag_bytes) : undefined],
    ['Cutover requested', m.cutover_requested ? 'yes' : undefined],
    ['Final LSN', m.final_lsn],
    ['Promotion took', m.promote_ms !== undefined ? `${m.promote_ms} ms` : undefined],
    ['Failed in', m.failed_in ? phaseLabel(m.failed_in) : undefined],
    ['Rolled back from', m.rollback_from ? phaseLabel(m.rollback_from) : undefined],
    ['Rollback reason', m.rollback_reason],
    ['Record problem', m.data_error],
  ];
  replaceChildren(dl, rows.filter(([, v]) => v !== undefined && v !== null && v !== '').map(
    ([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, String(v)))));
}

function drawArm(el, m) {
  const parts = [];
  const arm = m.arm;
  if (arm) {
    const from = arm.not_before ? formatDateTime(arm.not_before) : 'now';
    const until = arm.window_end ? formatDateTime(arm.window_end) : 'no end';
    parts.push(h('p.armed', { role: 'status' },
      h('strong', {}, 'Armed: '),
      `the cutover is taken automatically between ${from} and ${until} once every gate is green.`,
      arm.armed_by || arm.identity ? ` Armed by ${arm.armed_by || arm.identity}.` : '',
      arm.waiting_for ? h('span.waiting', {}, ` Waiting for: ${arm.waiting_for}`) : ''));
  }
  const approval = m.approval;
  if (approval) {
    const by = approval.approved_by || approval.identity;
    const until = approval.valid_until || approval.expires_at;
    parts.push(h('p.approval', {},
      h('strong', {}, 'Approved'),
      by ? ` by ${by}` : '', until ? `, valid until ${formatDateTime(until)}` : '', '.'));
  }
  replaceChildren(el, parts);
}

// The phase timeline: the forward path with each phase done, current or to come, and the time
// spent in it; a rollback or a failure is shown after the phase it left.
function drawTimeline(ol, m) {
  const seconds = {};
  for (const p of m.phases || []) seconds[p.name] = (seconds[p.name] || 0) + (p.seconds || 0);
  const transitions = (m.events || []).filter((e) => e.to);  // notes have no phase
  const visited = new Set(transitions.map((e) => e.to));
  visited.add(m.phase);
  const offPath = OTHER_PHASES.includes(m.phase) || transitions.some((e) => OTHER_PHASES.includes(e.to));
  const currentIndex = FORWARD_PHASES.indexOf(m.phase);
  let reached = currentIndex;
  if (reached < 0) {
    for (let i = FORWARD_PHASES.length - 1; i >= 0; i--) {
      if (visited.has(FORWARD_PHASES[i])) {
        reached = i;
        break;
      }
    }
  }
  // The current phase's time runs on from the event that entered it.
  const lastMove = transitions[transitions.length - 1];
  const entered = lastMove ? toDate(lastMove.at) : null;
  const items = [];
  const item = (phase, status) => {
    let dur = seconds[phase];
    if (status === 'current' && entered && lastMove.to === phase) {
      dur = Math.max(dur || 0, (Date.now() - entered.getTime()) / 1000);
    }
    const statusText = { done: 'done', current: 'now', upcoming: 'to come', skipped: 'not reached' }[status];
    return h(`li.step.${status}`, {
      'data-phase': phase, 'data-status': status, 'aria-current': status === 'current' ? 'step' : null,
    },
      h('span.step-name', {}, phaseLabel(phase)),
      h('span.step-status', {}, statusText),
      h('span.step-time', {}, dur !== undefined ? formatSeconds(dur) : ''));
  };
  FORWARD_PHASES.forEach((phase, i) => {
    let status;
    if (phase === m.phase) status = m.phase === 'completed' ? 'done' : 'current';
    else if (i <= reached && (visited.has(phase) || i < reached)) status = 'done';
    else status = offPath ? 'skipped' : 'upcoming';
    items.push(item(phase, status));
  });
  if (offPath) {
    for (const phase of OTHER_PHASES) {
      if (!visited.has(phase)) continue;
      const terminal = phase === 'rolled_back' || phase === 'failed';
      items.push(item(phase, phase === m.phase && !terminal ? 'current' : 'done'));
    }
  }
  replaceChildren(ol, items);
  const total = Object.values(seconds).reduce((a, b) => a + b, 0);
  ol.setAttribute('aria-description', `Time so far ${formatSeconds(total)}`);
}

// Two small hand-drawn SVG charts: replication lag and WAL rate over the last hour.
function drawCharts(el, m) {
  const series = m.series || {};
  replaceChildren(el,
    lineChart({ id: 'lag-chart', title: 'Replication lag', points: series.lag_bytes || [],
                format: formatBytes, cssClass: 'lag', limit: m.spec?.max_lag_bytes }),
    lineChart({ id: 'wal-rate-chart', title: 'WAL rate', points: series.wal_bytes_per_s || [],
                format: formatRate, cssClass: 'wal' }));
}

function lineChart({ id, title, points, format, cssClass, limit }) {
  const W = 560;
  const H = 170;
  const pad = { left: 74, right: 12, top: 12, bottom: 26 };
  const pts = points.filter((p) => Array.isArray(p) && p.length >= 2 && Number.isFinite(Number(p[1])))
    .map(([t, v]) => [Number(t), Number(v)]);
  const latest = pts.length ? pts[pts.length - 1][1] : undefined;
  const peak = pts.length ? Math.max(...pts.map((p) => p[1])) : undefined;
  const summary = pts.length
    ? `latest ${format(latest)}, peak ${format(peak)}, ${pts.length} samples`
    : 'no samples yet';
  const svg = h('svg', {
    viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${id}-title ${id}-desc`,
    class: `chart ${cssClass}`, preserveAspectRatio: 'none',
  },
    h('title', { id: `${id}-title` }, `${title}, last hour`),
    h('desc', { id: `${id}-desc` }, summary));
  const plotW = W - pad.left - pad.right;
  const plotH = H - pad.top - pad.bottom;
  if (!pts.length) {
    svg.append(h('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' },
                 'No samples in the last hour'));
  } else {
    const t0 = pts[0][0];
    const t1 = Math.max(pts[pts.length - 1][0], t0 + 1);
    let top = Math.max(peak, limit && limit < peak * 4 ? limit : 0, 1);
    top *= 1.15;
    const x = (t) => pad.left + ((t - t0) / (t1 - t0)) * plotW;
    const y = (v) => pad.top + plotH - (v / top) * plotH;
    for (let i = 0; i <= 3; i++) {
      const v = (top / 3) * i;
      svg.append(h('line', { x1: pad.left, x2: W - pad.right, y1: y(v), y2: y(v), class: 'grid' }),
                 h('text', { x: pad.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, format(v)));
    }
    svg.append(
      h('text', { x: pad.left, y: H - 6, class: 'axis' }, formatTime(t0)),
      h('text', { x: W - pad.right, y: H - 6, 'text-anchor': 'end', class: 'axis' }, formatTime(t1)));
    if (limit && limit <= top) {
      svg.append(h('line', { x1: pad.left, x2: W - pad.right, y1: y(limit), y2: y(limit), class: 'limit' }),
                 h('text', { x: W - pad.right - 4, y: y(limit) - 4, 'text-anchor': 'end', class: 'axis limit-label' },
                   `gate ${format(limit)}`));
    }
    const d = pts.map(([t, v], i) => `${i ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    svg.append(h('path', { d, class: 'line' }));
    const [lt, lv] = pts[pts.length - 1];
    svg.append(h('circle', { cx: x(lt), cy: y(lv), r: 3, class: 'dot' }));
  }
  return h('figure.chart-box', { 'data-testid': id },
    h('figcaption', {}, h('strong', {}, title), ' ',
      h('span.muted', { 'data-testid': `${id}-latest` }, pts.length ? `now ${format(latest)}` : 'no samples')),
    svg);
}

// A check's evidence value as DOM: scalars as text, short lists inline, long lists folded
// under their count, objects as nested key-value lists (the evidence is numbers and names,
// never secrets; it is shown for people, not dumped).
function evidenceValue(v, depth = 0) {
  if (v === null || v === undefined) return '—';
  if (typeof v !== 'object') return String(v);
  if (depth >= 3) return JSON.stringify(v);
  if (Array.isArray(v)) {
    if (!v.length) return 'none';
    if (v.every((x) => x === null || typeof x !== 'object')) {
      if (v.length <= 8) return v.join(', ');
      return h('details.inline', {}, h('summary', {}, `${v.length} items`), v.join(', '));
    }
    const items = v.map((x) => h('li', {}, evidenceValue(x, depth + 1)));
    return v.length <= 4 ? h('ul.ev-list', {}, items)
      : h('details.inline', {}, h('summary', {}, `${v.length} entries`), h('ul.ev-list', {}, items));
  }
  const entries = Object.entries(v);
  if (!entries.length) return 'none';
  return h('dl.ev-object', {}, entries.map(([k, x]) => h('div', {},
    h('dt', {}, k), h('dd', {}, evidenceValue(x, depth + 1)))));
}

// Each check with its verdict, advice and evidence. A passing check's evidence is folded (it
// stays one click away); a warning's or a failure's is open. The reader's own folding is kept
// across redraws.
function drawChecks(el, m, folding) {
  const report = m.checks;
  const list = Array.isArray(report) ? report : report?.checks;
  if (!list || !list.length) {
    let text = 'No check has been recorded.';
    if (m.phase === 'created' || m.phase === 'replicating') {
      text = 'The checks run once the target replicates.';
    } else if (m.phase === 'validating') {
      text = 'The checks are running under traffic; their verdicts appear when the window ends.';
    }
    replaceChildren(el, h('p.muted', {}, text));
    return;
  }
  const sum = report.summary;
  const head = sum
    ? h('p.check-summary', { 'data-testid': 'check-summary' },
        `${sum.pass} pass, ${sum.warn} warn, ${sum.fail} fail of ${sum.total}`)
    : null;
  const items = list.map((c) => {
    const evidence = c.evidence && typeof c.evidence === 'object' ? Object.entries(c.evidence) : [];
    const open = folding.has(c.name) ? folding.get(c.name) : c.verdict !== 'pass';
    const details = h('details.check-body', { open: open ? true : null },
      h('summary', {}, 'Evidence and query'),
      evidence.length
        ? h('dl.evidence', { 'aria-label': `Evidence for ${c.name}` },
            evidence.map(([k, v]) => {
              const value = evidenceValue(v);
              const wide = typeof value !== 'string' || value.length > 60;
              return h(`div${wide ? '.wide' : ''}`, {}, h('dt', {}, humanize(k)), h('dd', {}, value));
            }))
        : h('p.muted', {}, 'No evidence recorded.'),
      c.query ? h('pre.query', { 'aria-label': `Query for ${c.name}` }, c.query) : null);
    details.addEventListener('toggle', () => folding.set(c.name, details.open));
    // The first few plain numbers and names, at a glance beside the name.
    const glance = evidence.filter(([, v]) => v !== null && typeof v !== 'object')
      .slice(0, 3).map(([k, v]) => `${humanize(k)} ${v}`).join(' · ');
    return h(`li.check.${c.verdict}`, { 'data-testid': `check-${c.name}`, 'data-verdict': c.verdict },
      h('div.check-head', {},
        h(`span.verdict.${c.verdict}`, {}, c.verdict),
        h('h3', {}, humanize(c.name)),
        glance ? h('span.glance', {}, glance) : null),
      c.advice ? h('p.advice', {}, h('strong', {}, 'Advice: '), c.advice) : null,
      details);
  });
  replaceChildren(el, head, h('ul.checks', {}, items));
}

function drawPlan(el, plan) {
  const parts = [];
  const red = plan.red_gates || [];
  parts.push(red.length
    ? h('div.red-gates', { role: 'note', 'data-testid': 'red-gates' },
        h('h3', {}, 'Gates that are red now'),
        h('ul', {}, red.map((g) => h('li', {}, typeof g === 'string' ? g : formatGate(g)))))
    : h('p.green-gates', { 'data-testid': 'red-gates' }, 'No gate is red now.'));
  const steps = plan.steps || [];
  if (steps.length) {
    parts.push(h('ol.plan-steps', { 'aria-label': 'Cutover steps' },
      steps.map((st) => h('li', { value: st.n },
        h('strong', {}, humanize(st.action || '')), st.detail ? ` — ${st.detail}` : ''))));
  }
  const pause = plan.expected_pause_ms;
  if (pause) {
    parts.push(h('p.expected-pause', { 'data-testid': 'expected-pause' },
      h('strong', {}, 'Expected pause: '),
      `${pause.total ?? '?'} ms (pause ${pause.pause ?? '?'} ms, fence ${pause.fence ?? '?'} ms, ` +
      `promote ${pause.promote ?? '?'} ms${pause.rest !== undefined ? `, the rest ${pause.rest} ms` : ''})`,
      pause.basis ? h('span.muted', {}, ` — ${PAUSE_BASIS[pause.basis] || pause.basis}`) : ''));
  }
  const lists = [
    ['Proxies paused', plan.proxies],
    ['Fence layers', plan.fence_layers],
    ['Slots recreated', plan.slots],
  ];
  for (const [label, items] of lists) {
    if (!Array.isArray(items) || !items.length) continue;
    parts.push(h('div.plan-list', {}, h('h3', {}, label),
      h('ul', {}, items.map((i) => h('li', {}, typeof i === 'string' ? i : describe(i))))));
  }
  if (plan.route_change && typeof plan.route_change === 'object') {
    parts.push(h('p', {}, h('strong', {}, 'Route change: '), describe(plan.route_change)));
  }
  replaceChildren(el, parts);
}

// Where the expected pause's figures came from (the plan's "basis").
const PAUSE_BASIS = {
  measured: 'measured by this migration\'s cutover',
  earlier_cutovers: 'the median of this cluster\'s earlier cutovers',
  default: 'default figures from pgshift\'s cutover benchmark (nothing measured on this cluster yet)',
  mixed: 'partly measured on this cluster, partly default figures',
};

function formatGate(g) {
  const name = g.name || g.check || g.gate || 'gate';
  const why = g.reason || g.message || g.advice || '';
  return why ? `${humanize(name)}: ${why}` : humanize(name);
}

// An object from the plan as "key value, key value" (plan entries hold names and addresses,
// never secrets).
function describe(obj) {
  return Object.entries(obj).map(([k, v]) => `${humanize(k)} ${formatValue(v)}`).join(', ');
}

function drawEvents(el, m) {
  const events = [...(m.events || [])].reverse();
  if (!events.length) {
    replaceChildren(el, h('p.muted', {}, 'No event yet.'));
    return;
  }
  replaceChildren(el, h('table.events', { 'aria-label': 'Event log' },
    h('thead', {}, h('tr', {}, ['Time', 'From', 'To', 'Reason'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, events.map((e) => h(`tr.${e.to ? 'transition' : 'note'}`, {},
      h('td', {}, formatTime(e.at)),
      h('td', {}, e.to ? phaseLabel(e.from) : ''),
      h('td', {}, e.to ? phaseLabel(e.to) : h('span.muted', {}, 'note')),
      h('td.reason', {}, e.reason || e.text || ''))))));
}

// ---------------------------------------------------------------------------------------------
// The confirmation dialog: one <dialog> in the page (not the browser's confirm(), which a
// test cannot read and a person cannot style), resolved with true or false.

function confirmDialog({ title, text, fields, confirmLabel, danger }) {
  const dialog = els.dialog;
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  replaceChildren(document.getElementById('confirm-fields'), fields || []);
  const ok = document.getElementById('confirm-ok');
  ok.textContent = confirmLabel;
  ok.className = danger ? 'danger' : 'primary';
  const form = document.getElementById('confirm-form');
  const dismiss = document.getElementById('confirm-dismiss');
  return new Promise((resolve) => {
    const done = (value) => {
      form.removeEventListener('submit', onSubmit);
      dismiss.removeEventListener('click', onDismiss);
      dialog.removeEventListener('cancel', onDismiss);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const onSubmit = (ev) => {
      ev.preventDefault();
      if (!form.reportValidity()) return;
      done(true);
    };
    const onDismiss = (ev) => {
      ev.preventDefault();
      done(false);
    };
    form.addEventListener('submit', onSubmit);
    dismiss.addEventListener('click', onDismiss);
    dialog.addEventListener('cancel', onDismiss);
    dialog.showModal();
  });
}

// ---------------------------------------------------------------------------------------------
// Routing: #/ is the fleet, #/migrations/NAME one migration.

function route() {
  viewAbort?.abort();
  viewAbort = new AbortController();
  const signal = viewAbort.signal;
  if (els.dialog.open) els.dialog.close();
  clearError();
  els.notice.textContent = '';
  if (!token() || !whoami) {
    renderSignIn();
    return;
  }
  const match = location.hash.match(/^#\/migrations\/([^/?]+)$/);
  if (match) {
    let name;
    try {
      name = decodeURIComponent(match[1]);
    } catch {
      name = match[1];
    }
    renderMigration(name, signal);
  } else {
    renderFleet(signal);
  }
}

async function boot() {
  els.main = document.getElementById('main');
  els.errorBanner = document.getElementById('error-banner');
  els.notice = document.getElementById('notice');
  els.identity = document.getElementById('identity');
  els.identityText = document.getElementById('identity-text');
  els.dialog = document.getElementById('confirm-dialog');
  document.getElementById('sign-out').addEventListener('click', () => signOut('Signed out.'));
  window.addEventListener('hashchange', route);
  if (token()) {
    try {
      whoami = await api('GET', '/v1/whoami');
    } catch (err) {
      if (err.status !== 401) {
        whoami = null;
        renderSignIn(`The server could not be asked who you are: ${err.message}`);
        return;
      }
      return;  // signOut() drew the sign-in form
    }
  }
  renderIdentity();
  route();
}

boot();
