// promsd's web page: polls promsd's JSON APIs and draws discovery, targets and relabel traces;
// previews a candidate config (POST api/v1/diff).
// No framework and no build step. Every label value is untrusted text: it only ever reaches the
// page through textContent (the h() helper), never as HTML.
'use strict';

const PAGE_SIZE = 50;
const POLL_MS = 5000;

const view = {
  job: '', state: 'any', q: '', offset: 0, trace: null,
  targetsText: null, statusAt: null, traced: null,
};

const $ = (id) => document.getElementById(id);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const num = (n) => Number(n).toLocaleString('en-US');

function ago(iso) {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

// GET a promsd API path (relative, so a path prefix in a proxy works); throws its error message.
async function api(path) {
  const response = await fetch(path, { headers: { Accept: 'application/json' } });
  const text = await response.text();
  let body;
  try { body = JSON.parse(text); } catch (e) {
    throw new Error(`${response.status} ${response.statusText}: ${text.slice(0, 200)}`);
  }
  if (body.status !== 'success') throw new Error(body.error || response.statusText);
  return { data: body.data, text };
}

function showError(message) {
  const banner = $('error');
  banner.hidden = !message;
  banner.textContent = message || '';
}

// ---- overview -------------------------------------------------------------------------------

function providerHealth(p) {
  if (p.state === 'restarting') return ['restarting', 'bad'];
  if (!p.delivered) return ['waiting', 'warn'];
  if (p.errors > 0) return [p.state === 'ended' ? 'ended, had errors' : 'had errors', 'warn'];
  return [p.state === 'ended' ? 'ended' : 'healthy', p.state === 'ended' ? 'idle' : 'ok'];
}

function renderStatus(data) {
  const jobs = data.jobs, providers = data.providers;
  const active = jobs.reduce((a, j) => a + j.activeTargets, 0);
  const dropped = jobs.reduce((a, j) => a + j.droppedTargets, 0);
  const ready = jobs.filter((j) => j.ready).length;
  const failing = providers.filter((p) => providerHealth(p)[1] === 'bad' || p.errors > 0).length;
  $('sum-jobs').textContent = num(jobs.length);
  $('sum-ready').textContent = ready === jobs.length ? 'all ready' : `${ready} of ${jobs.length} ready`;
  $('sum-active').textContent = num(active);
  $('sum-dropped').textContent = num(dropped);
  $('sum-providers').textContent = num(providers.length);
  $('sum-failing').textContent = failing ? `${failing} with errors` : 'no errors';
  $('sum-failing').className = 'card-note' + (failing ? ' bad' : '');

  const jobRows = jobs.map((j) => h('tr', {
    class: 'link', title: `show the targets of ${j.name}`,
    onclick: () => { setFilter({ job: j.name, offset: 0 }); $('targets-panel').scrollIntoView({ behavior: 'smooth' }); },
  },
    h('td', {}, h('strong', {}, j.name)),
    h('td', { class: 'num' }, num(j.activeTargets)),
    h('td', { class: 'num' }, j.droppedTargets ? h('span', { class: 'badge bad' }, num(j.droppedTargets)) : '0'),
    h('td', {}, j.ready ? h('span', { class: 'badge ok' }, 'ready') : h('span', { class: 'badge warn' }, 'waiting')),
    h('td', { class: 'muted' }, j.providers.join(', ')),
  ));
  $('jobs').tBodies[0].replaceChildren(...(jobRows.length ? jobRows
    : [h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'No jobs configured.'))]));

  const providerRows = providers.map((p) => {
    const [label, tone] = providerHealth(p);
    return h('tr', {},
      h('td', {}, h('strong', {}, p.name), h('div', { class: 'muted' }, `${p.mechanism} · ${p.jobs.join(', ')}`)),
      h('td', {}, h('span', { class: `badge ${tone}` }, label)),
      h('td', { class: 'num' }, num(p.targets)),
      h('td', { title: p.lastUpdate || '' }, ago(p.lastUpdate)),
      h('td', { class: 'num' }, num(p.restarts)),
      h('td', {}, p.lastError
        ? h('span', { class: 'error-text', title: `${p.errors} errors in total, last ${p.lastErrorTime || ''}` }, `${p.lastError} (${ago(p.lastErrorTime)})`)
        : h('span', { class: 'muted' }, '—')),
    );
  });
  $('providers').tBodies[0].replaceChildren(...(providerRows.length ? providerRows
    : [h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'No providers running.'))]));

  const select = $('f-job');
  const options = [h('option', { value: '' }, 'all jobs'),
    ...jobs.map((j) => h('option', { value: j.name }, j.name))];
  if (view.job && !jobs.some((j) => j.name === view.job)) options.push(h('option', { value: view.job }, view.job));
  select.replaceChildren(...options);
  select.value = view.job;
}

async function loadStatus() {
  const { data } = await api('api/v1/status/sd');
  renderStatus(data);
  view.statusAt = Date.now();
  const ams = await api('api/v1/alertmanagers');
  renderAlertmanagers(ams.data);
}

// The Alertmanagers of alerting.alertmanagers (the notify manager), active and dropped.
function renderAlertmanagers(data) {
  const row = (a, active) => h('tr', {},
    h('td', {}, a.set),
    h('td', {}, h('code', {}, a.url)),
    h('td', {}, active ? h('span', { class: 'badge ok' }, 'active') : h('span', { class: 'badge bad' }, 'dropped')),
    h('td', { class: 'muted' }, a.droppedBecause || '—'),
  );
  const rows = [...data.activeAlertmanagers.map((a) => row(a, true)),
    ...data.droppedAlertmanagers.map((a) => row(a, false))];
  $('alertmanagers').tBodies[0].replaceChildren(...(rows.length ? rows
    : [h('tr', {}, h('td', { colspan: 4, class: 'empty' }, 'No Alertmanagers configured.'))]));
}

// ---- targets --------------------------------------------------------------------------------

function chips(labels, compareTo) {
  const names = Object.keys(labels).sort();
  if (!names.length) return h('div', { class: 'labels muted' }, 'no labels');
  return h('div', { class: 'labels' }, names.map((n) => {
    let cls = 'chip';
    if (n.startsWith('__meta_')) cls += ' meta';
    if (compareTo) {
      if (!(n in compareTo)) cls += ' added';
      else if (compareTo[n] !== labels[n]) cls += ' changed';
    }
    return h('span', { class: cls }, h('span', { class: 'n' }, `${n}=`), JSON.stringify(labels[n]));
  }));
}

function renderTarget(t, index) {
  const dropped = !t.labels;
  const address = t.discoveredLabels.__address__ || '(no __address__)';
  const right = dropped
    ? h('div', {}, h('div', { class: 'side-label' }, 'Dropped because'),
      h('div', { class: 'reason' }, t.droppedBecause || 'dropped by relabeling'))
    : h('div', {}, h('div', { class: 'side-label' }, 'Final labels'), chips(t.labels, t.discoveredLabels));
  return h('div', { class: 'target' + (dropped ? ' dropped' : ''), 'data-index': index },
    h('div', { class: 'target-head' },
      h('span', { class: `badge ${dropped ? 'bad' : 'ok'}` }, dropped ? 'dropped' : 'active'),
      h('span', { class: 'address' }, address),
      h('span', { class: 'muted' }, t.scrapePool),
      dropped ? null : h('span', { class: 'url' }, t.scrapeUrl),
      h('span', { class: 'spacer' }),
      h('button', { type: 'button', class: 'ghost', onclick: () => openTrace(t, true) }, 'explain'),
    ),
    h('div', { class: 'sides' },
      h('div', {}, h('div', { class: 'side-label' }, 'Discovered labels'), chips(t.discoveredLabels)),
      right,
    ),
  );
}

function targetsQuery() {
  const p = new URLSearchParams();
  if (view.job) p.set('scrapePool', view.job);
  p.set('state', view.state);
  const q = view.q.trim();
  if (q.startsWith('{')) p.append('match[]', q);
  else if (q) p.set('search', q);
  p.set('limit', PAGE_SIZE);
  p.set('offset', view.offset);
  return p.toString();
}

// The targets shown: the page's active targets, then its dropped ones.
let pageTargets = [];

async function loadTargets() {
  let result;
  try {
    result = await api(`api/v1/targets?${targetsQuery()}`);
  } catch (e) {
    $('f-q').classList.add('invalid');
    $('targets').replaceChildren(h('div', { class: 'reason' }, e.message));
    $('range').textContent = '';
    view.targetsText = null;
    return;
  }
  $('f-q').classList.remove('invalid');
  if (result.text === view.targetsText) return;
  view.targetsText = result.text;
  const data = result.data;
  pageTargets = [...data.activeTargets, ...data.droppedTargets];
  const from = pageTargets.length ? view.offset + 1 : 0;
  $('range').textContent = `${num(from)}–${num(view.offset + pageTargets.length)} of ${num(data.total)} targets`;
  $('prev').disabled = view.offset === 0;
  $('next').disabled = data.nextOffset === undefined;
  $('targets').replaceChildren(...(pageTargets.length ? pageTargets.map(renderTarget)
    : [h('div', { class: 'empty' }, 'No targets match.')]));
  if (view.trace !== null && pageTargets[view.trace]) {
    const t = pageTargets[view.trace];
    view.trace = null;
    openTrace(t);
  }
}

// ---- relabel trace --------------------------------------------------------------------------

// A rule as a few lines; `input` (the labels the rule saw) shows what its regex was matched against.
function ruleView(rule, input) {
  const parts = [h('div', {}, h('span', { class: 'action' }, rule.action || 'replace'))];
  const row = (k, v) => parts.push(h('div', {}, h('span', { class: 'muted' }, `${k}: `), v));
  if (rule.source_labels && rule.source_labels.length) {
    row('source_labels', `[${rule.source_labels.join(', ')}]`);
    const sep = rule.separator === undefined ? ';' : rule.separator;
    row('source value', JSON.stringify(rule.source_labels.map((n) => input[n] || '').join(sep)));
  }
  if (rule.separator !== undefined && rule.separator !== ';') row('separator', JSON.stringify(rule.separator));
  if (rule.regex !== undefined) row('regex', JSON.stringify(rule.regex));
  if (rule.modulus) row('modulus', String(rule.modulus));
  if (rule.target_label) row('target_label', rule.target_label);
  if (rule.replacement !== undefined && rule.replacement !== '$1') row('replacement', JSON.stringify(rule.replacement));
  return h('div', { class: 'rule' }, parts);
}

function diffChips(before, after) {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const changed = names.filter((n) => before[n] !== after[n]);
  if (!changed.length) return h('div', { class: 'labels muted' }, 'no change');
  return h('div', { class: 'labels' }, changed.map((n) => {
    if (!(n in after)) return h('span', { class: 'chip removed' }, h('span', { class: 'n' }, `${n}=`), JSON.stringify(before[n]));
    const cls = n in before ? 'chip changed' : 'chip added';
    return h('span', { class: cls, title: n in before ? `was ${JSON.stringify(before[n])}` : 'added' },
      h('span', { class: 'n' }, `${n}=`), JSON.stringify(after[n]));
  }));
}

async function openTrace(t, scroll) {
  view.traced = t;
  const panel = $('trace-panel');
  panel.hidden = false;
  if (scroll) panel.scrollIntoView({ block: 'start', behavior: 'smooth' });
  const address = t.discoveredLabels.__address__ || '';
  $('trace-title').replaceChildren('Relabel trace ', h('span', { class: 'muted' }, `· ${address} in ${t.scrapePool}`));
  const out = $('trace');
  out.replaceChildren(h('div', { class: 'muted' }, 'loading…'));
  const params = new URLSearchParams({ scrapePool: t.scrapePool, labels: JSON.stringify(t.discoveredLabels) });
  let steps;
  try {
    steps = (await api(`api/v1/targets/relabel_steps?${params}`)).data.steps;
  } catch (e) {
    out.replaceChildren(h('div', { class: 'reason' }, `No relabel trace: ${e.message}`));
    return;
  }
  if (view.traced !== t) return;
  const rows = [h('div', { class: 'step' },
    h('div', { class: 'index' }, 'in'),
    h('div', { class: 'rule muted' }, 'discovered labels'),
    chips(t.discoveredLabels))];
  let before = t.discoveredLabels;
  let droppedAt = null;
  steps.forEach((step, i) => {
    if (droppedAt !== null) return;
    if (!step.keep) droppedAt = i;
    rows.push(h('div', { class: 'step' + (step.keep ? '' : ' drop') },
      h('div', { class: 'index' }, String(i + 1)),
      ruleView(step.rule, before),
      step.keep ? diffChips(before, step.output)
        : h('div', { class: 'reason' }, `dropped by rule ${i + 1} (${step.rule.action || 'replace'})`)));
    before = step.output;
  });
  if (!steps.length) rows.push(h('div', { class: 'empty' }, `Job ${t.scrapePool} has no relabel rules.`));
  if (droppedAt !== null && droppedAt < steps.length - 1) {
    rows.push(h('div', { class: 'empty' }, `${steps.length - droppedAt - 1} later rules not applied.`));
  }
  if (droppedAt === null) {
    rows.push(h('div', { class: 'step' },
      h('div', { class: 'index' }, 'out'),
      h('div', { class: 'rule muted' }, t.labels ? 'final labels' : 'after relabeling'),
      t.labels ? chips(t.labels, t.discoveredLabels)
        : h('div', { class: 'reason' }, `kept by every rule, then dropped: ${t.droppedBecause || 'unknown reason'}`)));
  }
  out.replaceChildren(h('div', { class: 'steps' }, rows));
}

// ---- preview a config ----------------------------------------------------------------------

// The class of a line of `promsd diff`'s text report.
function diffLineClass(line) {
  if (line.startsWith('job ')) return / 0 added, 0 removed, 0 changed, /.test(line) ? 'job same' : 'job';
  if (line.startsWith('  + ')) return 'add';
  if (line.startsWith('  - ')) return 'del';
  if (line.startsWith('  ~ ')) return 'chg';
  if (line.startsWith('      (')) return 'why';
  if (line.startsWith('      -')) return 'del';
  if (line.startsWith('      +')) return 'add';
  return '';
}

// POSTs the candidate to api/v1/diff and shows the report as `promsd diff` prints it.
async function runPreview() {
  const candidate = $('candidate').value;
  const status = $('preview-status'), out = $('preview-out'), button = $('preview-run');
  button.disabled = true;
  status.textContent = 'discovering…';
  out.replaceChildren();
  try {
    const response = await fetch('api/v1/diff?format=text', {
      method: 'POST', headers: { 'Content-Type': 'application/yaml' }, body: candidate,
    });
    const text = await response.text();
    if (!response.ok) {
      let message = text;
      try { message = JSON.parse(text).error || text; } catch (e) { /* not JSON */ }
      if (message === 'admin APIs disabled') {
        message = 'Previews are off: start promsd with --web.enable-admin-api to allow them.';
      }
      status.textContent = '';
      out.replaceChildren(h('div', { class: 'reason' }, message));
      return;
    }
    const lines = text.replace(/\n$/, '').split('\n').filter((l) => l !== '');
    const jobs = lines.filter((l) => l.startsWith('job '));
    const differ = jobs.filter((l) => diffLineClass(l) === 'job').length;
    status.textContent = differ ? `${differ} of ${jobs.length} jobs change` : `no change in ${jobs.length} jobs`;
    out.replaceChildren(h('div', { class: 'diff' },
      lines.map((l) => h('div', { class: diffLineClass(l) }, l))));
  } catch (e) {
    status.textContent = '';
    out.replaceChildren(h('div', { class: 'reason' }, `Cannot reach promsd: ${e.message}`));
  } finally {
    button.disabled = false;
  }
}

// `#preview=<candidate>` opens the preview with that candidate (links and tests); what is typed
// into the box is never written to the URL (a config may hold secrets).
function previewFromHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  if (!p.has('preview')) return;
  $('candidate').value = p.get('preview');
  $('preview-panel').open = true;
  $('preview-panel').scrollIntoView({ block: 'start' });
  runPreview();
}

// ---- filters, hash and polling --------------------------------------------------------------

function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  view.job = p.get('job') || '';
  view.state = ['active', 'dropped'].includes(p.get('state')) ? p.get('state') : 'any';
  view.q = p.get('q') || '';
  view.offset = Math.max(0, parseInt(p.get('offset') || '0', 10) || 0);
  view.trace = p.has('trace') ? parseInt(p.get('trace'), 10) : null;
}

function writeHash() {
  const p = new URLSearchParams();
  if (view.job) p.set('job', view.job);
  if (view.state !== 'any') p.set('state', view.state);
  if (view.q) p.set('q', view.q);
  if (view.offset) p.set('offset', view.offset);
  history.replaceState(null, '', p.toString() ? `#${p}` : location.pathname + location.search);
}

function syncControls() {
  $('f-job').value = view.job;
  $('f-q').value = view.q;
  for (const b of $('f-state').querySelectorAll('button')) b.classList.toggle('on', b.dataset.state === view.state);
}

function setFilter(change) {
  Object.assign(view, change, { trace: null });
  view.targetsText = null;
  syncControls();
  writeHash();
  loadTargets();
}

async function tick() {
  try {
    await Promise.all([loadStatus(), loadTargets()]);
    showError(null);
  } catch (e) {
    showError(`Cannot reach promsd: ${e.message}`);
  }
}

function showFreshness() {
  $('updated').textContent = view.statusAt ? `updated ${ago(new Date(view.statusAt).toISOString())}` : 'loading…';
}

async function loadConfig() {
  try {
    $('config').textContent = (await api('api/v1/status/config')).data.yaml;
  } catch (e) {
    $('config').textContent = `Not available: ${e.message}`;
  }
}

function start() {
  readHash();
  syncControls();
  $('f-job').addEventListener('change', (e) => setFilter({ job: e.target.value, offset: 0 }));
  for (const b of $('f-state').querySelectorAll('button')) {
    b.addEventListener('click', () => setFilter({ state: b.dataset.state, offset: 0 }));
  }
  let debounce;
  $('f-q').addEventListener('input', (e) => {
    clearTimeout(debounce);
    debounce = setTimeout(() => setFilter({ q: e.target.value, offset: 0 }), 300);
  });
  $('filters').addEventListener('submit', (e) => e.preventDefault());
  $('prev').addEventListener('click', () => setFilter({ offset: Math.max(0, view.offset - PAGE_SIZE) }));
  $('next').addEventListener('click', () => setFilter({ offset: view.offset + PAGE_SIZE }));
  $('trace-close').addEventListener('click', () => { $('trace-panel').hidden = true; view.traced = null; });
  $('config-panel').addEventListener('toggle', (e) => { if (e.target.open) loadConfig(); });
  $('preview-run').addEventListener('click', runPreview);
  window.addEventListener('hashchange', () => {
    readHash(); syncControls(); view.targetsText = null; loadTargets(); previewFromHash();
  });
  previewFromHash();
  tick();
  setInterval(() => { if ($('live').checked) tick(); }, POLL_MS);
  setInterval(showFreshness, 1000);
}

start();
