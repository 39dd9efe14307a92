// The Styx dashboard: plain JS, no framework, no build step. Every value from the server is
// set as text (textContent / text nodes), never parsed as HTML. The token lives in this tab's
// sessionStorage and travels as a bearer header; a 401 sends the user back to the login form.
'use strict';

const TOKEN_KEY = 'styx-token';
const CLUSTERS_EVERY_MS = 3000;
const JOBS_EVERY_MS = 5000;
const LOG_MAX_CHUNKS = 5000; // the log pane keeps the newest chunks only

const state = {
  view: 'clusters',
  cluster: null, // the cluster whose jobs are shown
  logAbort: null, // aborts the log stream being read
  timers: [],
  isAdmin: false,
};

const $ = (selector) => document.querySelector(selector);

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const cell of cells) {
    const td = document.createElement('td');
    if (cell instanceof Node) td.append(cell);
    else td.textContent = cell === null || cell === undefined ? '-' : String(cell);
    tr.append(td);
  }
  return tr;
}

function when(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString() : '-';
}

function money(value) {
  if (value === null || value === undefined) return '-';
  return '$' + (value >= 1 || value === 0 ? value.toFixed(2) : value.toFixed(4));
}

function showError(message) {
  $('#error').textContent = message || '';
}

class Unauthorized extends Error {}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(path, options = {}) {
  const headers = { Authorization: 'Bearer ' + token() };
  const response = await fetch(path, { ...options, headers, cache: 'no-store' });
  if (response.status === 401) {
    logout('Your token was refused; sign in again.');
    throw new Unauthorized();
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error((body && body.error) || response.statusText);
  return body;
}

// ---- login -------------------------------------------------------------------------------

function logout(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  stopLog();
  for (const timer of state.timers) clearInterval(timer);
  state.timers = [];
  $('#app').hidden = true;
  $('#nav').hidden = true;
  $('#logout').hidden = true;
  $('#whoami').textContent = '';
  $('#login').hidden = false;
  $('#login-error').textContent = message || '';
}

async function login(event) {
  event.preventDefault();
  const value = $('#token-input').value.trim();
  if (!value) return;
  sessionStorage.setItem(TOKEN_KEY, value);
  $('#token-input').value = '';
  await start();
}

async function start() {
  let me;
  try {
    me = await api('/api/whoami');
  } catch (error) {
    if (!(error instanceof Unauthorized)) logout(error.message);
    return;
  }
  state.isAdmin = Boolean(me.is_admin);
  $('#whoami').textContent = me.user + (me.is_admin ? ' (admin)' : '');
  $('#all-users-label').hidden = !state.isAdmin;
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#nav').hidden = false;
  $('#logout').hidden = false;
  state.timers.push(setInterval(() => tick('clusters', refreshClusters), CLUSTERS_EVERY_MS));
  state.timers.push(setInterval(() => tick('clusters', refreshJobs), JOBS_EVERY_MS));
  show(state.view);
}

function tick(view, refresh) {
  if (state.view === view && !document.hidden) refresh().catch(report);
}

function report(error) {
  if (!(error instanceof Unauthorized)) showError(error.message);
}

// ---- views -------------------------------------------------------------------------------

const REFRESH = {
  clusters: () => refreshClusters(),
  managed: () => refreshManaged(),
  cost: () => refreshCost(),
  tokens: () => refreshTokens(),
};

function show(view) {
  state.view = view;
  for (const section of document.querySelectorAll('.view')) {
    section.hidden = section.id !== 'view-' + view;
  }
  for (const button of document.querySelectorAll('#nav button')) {
    button.classList.toggle('active', button.dataset.view === view);
  }
  showError('');
  REFRESH[view]().catch(report);
}

function allUsersQuery() {
  return state.isAdmin && $('#all-users').checked ? '?all_users=1' : '';
}

function infra(c) {
  return [c.provider, c.region, c.zone].filter(Boolean).join('/');
}

function autostop(c) {
  if (c.autostop_minutes === null || c.autostop_minutes === undefined) return c.head_note || '-';
  const action = c.autostop_down ? 'down' : 'stop';
  const text = `${action} after ${c.autostop_minutes} min idle`;
  return c.head_note ? `${text}: ${c.head_note}` : text;
}

async function refreshClusters() {
  const clusters = await api('/api/clusters' + allUsersQuery());
  const body = $('#clusters tbody');
  const rows = clusters.map((c) => {
    const open = el('button', c.name, 'link');
    open.type = 'button';
    open.addEventListener('click', () => openCluster(c.name));
    const cost = money(c.accrued_cost) + (c.max_total_cost ? ' / ' + money(c.max_total_cost) + ' cap' : '');
    const last = c.last_job ? `#${c.last_job.job_id} ${c.last_job.status}` : '-';
    const tr = row([
      open, el('span', c.status, 'status status-' + c.status), infra(c),
      (c.use_spot ? '[spot] ' : '') + (c.instance_type || '-'), c.num_nodes,
      c.status === 'UP' ? money(c.hourly_price) : '-', cost, autostop(c), c.owner, last,
    ]);
    tr.dataset.cluster = c.name;
    tr.dataset.status = c.status;
    return tr;
  });
  body.replaceChildren(...rows);
  $('#clusters-empty').hidden = clusters.length > 0;
  if (state.cluster && !clusters.some((c) => c.name === state.cluster)) closeCluster();
}

function openCluster(name) {
  if (state.cluster !== name) stopLog();
  state.cluster = name;
  $('#detail-name').textContent = name;
  $('#cluster-detail').hidden = false;
  refreshJobs().catch(report);
}

function closeCluster() {
  stopLog();
  state.cluster = null;
  $('#cluster-detail').hidden = true;
}

function clusterPath(name) {
  return '/api/clusters/' + encodeURIComponent(name);
}

async function refreshJobs() {
  if (!state.cluster) return;
  const name = state.cluster;
  const query = allUsersQuery();
  const answer = await api(clusterPath(name) + '/jobs' + query);
  if (state.cluster !== name) return; // the user opened another cluster meanwhile
  $('#jobs-note').textContent = answer.source === 'store' ? `(saved copy: ${answer.error})` : '';
  const rows = answer.jobs.slice().reverse().map((j) => {
    const logs = el('button', 'Log', 'link');
    logs.type = 'button';
    logs.addEventListener('click', () => openLog(name, j.job_id));
    const tr = row([
      j.job_id, j.name, el('span', j.status, 'status status-' + j.status), when(j.submitted_at),
      when(j.ended_at), j.exit_code, logs,
    ]);
    tr.dataset.job = j.job_id;
    return tr;
  });
  $('#jobs tbody').replaceChildren(...rows);
}

// ---- live log ----------------------------------------------------------------------------

function stopLog() {
  if (state.logAbort) state.logAbort.abort();
  state.logAbort = null;
}

async function openLog(cluster, jobId) {
  stopLog();
  const abort = new AbortController();
  state.logAbort = abort;
  const pane = $('#log');
  pane.replaceChildren();
  $('#log-title').textContent = `of job ${jobId}`;
  const status = $('#log-state');
  status.textContent = 'streaming...';
  const path = `${clusterPath(cluster)}/jobs/${jobId}/logs${allUsersQuery()}`;
  try {
    const response = await fetch(path, {
      headers: { Authorization: 'Bearer ' + token() }, signal: abort.signal, cache: 'no-store',
    });
    if (response.status === 401) return logout('Your token was refused; sign in again.');
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      status.textContent = body.error || response.statusText;
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.trim()) logMessage(pane, status, JSON.parse(line));
      }
    }
  } catch (error) {
    if (error.name !== 'AbortError') status.textContent = 'stream broken: ' + error.message;
  } finally {
    if (state.logAbort === abort) state.logAbort = null;
  }
}

function logMessage(pane, status, message) {
  if (message.text !== undefined) {
    const atBottom = pane.scrollTop + pane.clientHeight >= pane.scrollHeight - 4;
    pane.append(document.createTextNode(message.text));
    while (pane.childNodes.length > LOG_MAX_CHUNKS) pane.firstChild.remove();
    if (atBottom) pane.scrollTop = pane.scrollHeight;
  } else if (message.done) {
    status.textContent = `(job ${message.job.status})`;
  } else if (message.error) {
    status.textContent = message.error;
  }
}

// ---- managed jobs, cost, tokens ----------------------------------------------------------

async function refreshManaged() {
  const jobs = await api('/api/managed-jobs' + allUsersQuery());
  const rows = jobs.slice().reverse().map((j) => row([
    j.job_id, j.name, el('span', j.status, 'status status-' + j.status), j.recovery_count,
    j.cluster, j.infra, when(j.submitted_at), when(j.ended_at), j.failure_reason,
  ]));
  $('#managed tbody').replaceChildren(...rows);
  $('#managed-empty').hidden = jobs.length > 0;
}

async function refreshCost(event) {
  if (event) event.preventDefault();
  const days = Number($('#cost-days').value) || 30;
  const sep = allUsersQuery() ? '&' : '?';
  const report = await api('/api/cost-report' + allUsersQuery() + sep + 'days=' + days);
  $('#cost-total').textContent =
    `Total ${money(report.total_cost)} over ${report.days} days; burning ${money(report.hourly_burn)}/h now.`;
  const rows = report.clusters.map((c) => row([
    c.cluster, [c.provider, c.region].filter(Boolean).join('/'),
    c.running ? 'running' : c.alive ? 'stopped' : 'gone', c.hours.toFixed(2),
    c.running ? money(c.hourly_price) : '-', money(c.cost),
  ]));
  $('#cost tbody').replaceChildren(...rows);
}

async function refreshTokens() {
  const tokens = await api('/api/tokens');
  const rows = tokens.map((t) => {
    const revoke = el('button', 'Revoke', 'link danger');
    revoke.type = 'button';
    revoke.addEventListener('click', () => revokeToken(t.token_id).catch(report));
    const tr = row([t.token_id, when(t.created_at), when(t.last_used_at), revoke]);
    tr.dataset.token = t.token_id;
    return tr;
  });
  $('#tokens tbody').replaceChildren(...rows);
}

async function createToken() {
  const issued = await api('/api/tokens', { method: 'POST' });
  $('#token-secret').textContent = issued.token;
  $('#token-new').hidden = false;
  await refreshTokens();
}

async function revokeToken(id) {
  if (!window.confirm(`Revoke token ${id}? Clients using it will be refused.`)) return;
  await api('/api/tokens/' + encodeURIComponent(id), { method: 'DELETE' });
  $('#token-new').hidden = true;
  await refreshTokens();
}

// ---- wiring ------------------------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  $('#login-form').addEventListener('submit', (event) => login(event).catch(report));
  $('#logout').addEventListener('click', () => logout(''));
  for (const button of document.querySelectorAll('#nav button')) {
    button.addEventListener('click', () => show(button.dataset.view));
  }
  $('#all-users').addEventListener('change', () => show(state.view));
  $('#cost-form').addEventListener('submit', (event) => refreshCost(event).catch(report));
  $('#token-create').addEventListener('click', () => createToken().catch(report));
  if (token()) start();
  else logout('');
});
