// The OpenAPI response check: docs/openapi.yaml against a running pgshift server.
//
// Calls every documented GET (as the platform, as a team on its own resources, as a team on
// another team's, without a token) and a representative set of POSTs, successes and every
// error class; validates each answer's body against the schema the file documents for that
// operation and status (ajv), and fails listing each mismatch: an undocumented status, a body
// that does not match, a content type the file does not name. It also asks the server for
// methods and paths the file does not document and fails when the server answers one of them
// (anything but 404 or 405).
//
// Run by test/integration/server_api_doc/openapi_test.cc, which starts real clusters and the
// server and writes the context file:
//   node openapi_check.mjs --spec docs/openapi.yaml --context ctx.json
// ctx.json: {"base_url", "tokens": {"platform","team","other_team"} (each the path of a token
// file), "team", "other_team", "clusters": {"team","other_team"}, "migrations": {"team",
// "other_team", "running"?}, "posts": {"new_cluster": {...}, "new_migration": {...}},
// "expect_status": {"case name": status, ...}?}
// Exit 0 when every answer matched; 1 with the mismatches listed; 2 when it could not run.
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import AjvDraft7 from 'ajv';
import addFormats from 'ajv-formats';

function args() {
  const out = {};
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i += 2) out[a[i].replace(/^--/, '')] = a[i + 1];
  if (!out.spec || !out.context) {
    console.error('usage: node openapi_check.mjs --spec docs/openapi.yaml --context ctx.json');
    process.exit(2);
  }
  return out;
}

// OpenAPI 3.0 schemas say `nullable: true`; JSON Schema says type [T, "null"].
function from30(schema) {
  if (Array.isArray(schema)) return schema.map(from30);
  if (schema === null || typeof schema !== 'object') return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'nullable' || k === 'example') continue;
    out[k] = from30(v);
  }
  if (schema.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (out.$ref || out.allOf || out.oneOf || out.anyOf) {
      return { anyOf: [out, { type: 'null' }] };
    }
    if (out.enum && !out.enum.includes(null)) out.enum = [...out.enum, null];
  }
  return out;
}

// "#/components/..." inside an operation's schema points into the whole file.
function rebase(schema) {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (schema === null || typeof schema !== 'object') return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? 'openapi.json' + v : rebase(v);
  }
  return out;
}

class Spec {
  constructor(file) {
    const doc = parseYaml(fs.readFileSync(file, 'utf8'));
    this.v30 = String(doc.openapi || '').startsWith('3.0');
    this.doc = this.v30 ? from30(doc) : doc;
    const Ajv = this.v30 ? AjvDraft7 : Ajv2020;
    this.ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: 'openapi.json', components: this.doc.components || {} });
    this.compiled = new Map();
    // Path templates as regexes, most literal segments first so /v1/stream beats /v1/{x}.
    this.templates = Object.keys(this.doc.paths || {})
      .map((t) => ({
        template: t,
        literal: t.split('/').filter((s) => s && !s.startsWith('{')).length,
        re: new RegExp('^' + t.replace(/\{[^}]+\}/g, '[^/]+') + '$'),
      }))
      .sort((a, b) => b.literal - a.literal);
  }
  template(p) {
    const hit = this.templates.find((t) => t.re.test(p));
    return hit ? hit.template : null;
  }
  operation(template, method) {
    const item = this.doc.paths[template] || {};
    return item[method.toLowerCase()] || null;
  }
  methods(template) {
    const item = this.doc.paths[template] || {};
    return ['get', 'post', 'put', 'patch', 'delete'].filter((m) => item[m]);
  }
  // The documented response for a status: exact, then "4XX", then default.
  response(op, status) {
    const r = op.responses || {};
    return r[String(status)] || r[`${String(status)[0]}XX`] || r.default || null;
  }
  validator(key, schema) {
    if (!this.compiled.has(key)) this.compiled.set(key, this.ajv.compile(rebase(schema)));
    return this.compiled.get(key);
  }
}

function resolveResponse(spec, response) {
  // A response may itself be a $ref into components/responses.
  let r = response;
  for (let i = 0; r && r.$ref && i < 5; i++) {
    const parts = r.$ref.replace(/^#\//, '').split('/');
    r = parts.reduce((o, k) => (o ? o[k.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), spec.doc);
  }
  return r;
}

const mismatches = [];
let checked = 0;

function mismatch(call, problem) {
  mismatches.push(`${call.method} ${call.path} (${call.label}) -> ${call.status}: ${problem}`);
}

async function readSomeOfStream(res, ms) {
  // An event stream never ends: read until the first event (or ms), then let go.
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !/\n\n/.test(text.replace(/^:.*\n/gm, ''))) {
    const chunk = await Promise.race([
      reader.read(),
      new Promise((r) => setTimeout(() => r({ timeout: true }), Math.max(1, deadline - Date.now()))),
    ]);
    if (chunk.timeout || chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
  }
  reader.cancel().catch(() => {});
  return text;
}

function judge(spec, call, contentType, bodyText) {
  checked++;
  const template = spec.template(call.path.split('?')[0]);
  if (!template) return mismatch(call, 'the path is not in docs/openapi.yaml');
  const op = spec.operation(template, call.method);
  if (!op) return mismatch(call, `${call.method} is not documented for ${template}`);
  const expected = call.expect === undefined ? [] : [].concat(call.expect);
  if (expected.length && !expected.includes(call.status)) {
    mismatch(call, `expected HTTP ${expected.join(' or ')}`);
  }
  const response = resolveResponse(spec, spec.response(op, call.status));
  if (!response) return mismatch(call, `status ${call.status} is not documented for ${call.method} ${template}`);
  const content = response.content || {};
  const media = (contentType || '').split(';')[0].trim();
  if (!Object.keys(content).length) {
    if (bodyText.length) mismatch(call, 'a body where the file documents none');
    return;
  }
  const documented = Object.keys(content).find(
    (k) => k === media || k === '*/*' || (k.endsWith('/*') && media.startsWith(k.slice(0, -1))),
  );
  if (!documented) {
    return mismatch(call, `content type '${media}' is not documented (${Object.keys(content).join(', ')})`);
  }
  const schema = content[documented].schema;
  if (!schema) return;
  let body;
  if (media === 'application/json') {
    try {
      body = JSON.parse(bodyText);
    } catch {
      return mismatch(call, 'the body is not JSON');
    }
  } else if (media === 'text/event-stream') {
    // The stream's first event: `event: status` whose data is the JSON the description names
    // (the Migration of one migration, a MigrationSummary for the fleet).
    const m = /(?:^|\n)event: ?status\ndata: ?(.*)/.exec(bodyText);
    if (!m) return mismatch(call, "no 'event: status' arrived on the stream within 5 s");
    let data;
    try {
      data = JSON.parse(m[1]);
    } catch {
      return mismatch(call, "an event's data is not JSON");
    }
    const component = template === '/v1/stream' ? 'MigrationSummary' : 'Migration';
    const schemas = (spec.doc.components || {}).schemas || {};
    if (schemas[component]) {
      const v = spec.validator(`component ${component}`, { $ref: `#/components/schemas/${component}` });
      if (!v(data)) {
        mismatch(call, `event data does not match ${component}: ${v.errors.slice(0, 5).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')}`);
      }
    }
    body = bodyText;
  } else {
    body = bodyText;
  }
  const key = `${template} ${call.method} ${call.status} ${media}`;
  const validate = spec.validator(key, schema);
  if (!validate(body)) {
    const errs = validate.errors
      .slice(0, 5)
      .map((e) => `${e.instancePath || '/'} ${e.message}${e.params && e.params.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`);
    mismatch(call, `body does not match the schema: ${errs.join('; ')}`);
  }
}

async function call(ctx, spec, c) {
  const headers = { accept: 'application/json, text/event-stream, text/plain' };
  if (c.token) headers.authorization = `Bearer ${ctx.tokenText[c.token]}`;
  let body;
  if (c.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), c.timeout_ms || 30000);
  let res;
  try {
    res = await fetch(ctx.base_url + c.path, { method: c.method, headers, body, signal: controller.signal });
  } catch (e) {
    clearTimeout(timer);
    mismatches.push(`${c.method} ${c.path} (${c.label}): no answer: ${e.message}`);
    return null;
  }
  const contentType = res.headers.get('content-type') || '';
  const text = contentType.startsWith('text/event-stream') ? await readSomeOfStream(res, 5000) : await res.text();
  clearTimeout(timer);
  controller.abort();
  const done = { ...c, status: res.status };
  if (c.probe) {
    checked++;
    if (res.status !== 404 && res.status !== 405) {
      mismatch(done, 'the server answers a method and path docs/openapi.yaml does not document');
    }
    return done;
  }
  judge(spec, done, contentType, text);
  done.json = contentType.startsWith('application/json') ? safeJson(text) : null;
  return done;
}

function safeJson(t) {
  try {
    return JSON.parse(t);
  } catch {
    return null;
  }
}

function fill(template, ctx, whose) {
  if (template.startsWith('/ui/')) return template.replace(/\{[^}]+\}/g, 'app.js');
  return template.replace(/\{([^}]+)\}/g, (_, param) => {
    const kind = template.startsWith('/v1/clusters')
      ? 'clusters'
      : template.startsWith('/v1/campaigns') ? 'campaigns' : 'migrations';
    const v = (ctx[kind] || {})[whose];
    if (!v) throw new Error(`the context names no ${kind}.${whose} for ${template} {${param}}`);
    return encodeURIComponent(v);
  });
}

async function main() {
  const a = args();
  const spec = new Spec(a.spec);
  const ctx = JSON.parse(fs.readFileSync(a.context, 'utf8'));
  ctx.tokenText = {};
  for (const [who, file] of Object.entries(ctx.tokens)) {
    ctx.tokenText[who] = fs.readFileSync(path.resolve(file), 'utf8').trim();
  }
  const expect = ctx.expect_status || {};
  const cases = [];
  const add = (c) => cases.push({ ...c, expect: c.expect ?? expect[c.label] });

  // Every documented GET: as the platform and as the owning team (200), as another team (404
  // for a named resource), without a token (401, except the health check).
  for (const template of Object.keys(spec.doc.paths || {})) {
    const op = spec.operation(template, 'GET');
    if (!op) continue;
    const named = template.includes('{');
    const open = Array.isArray(op.security) && op.security.length === 0;  // no authentication
    const platformOnly = template === '/v1/audit' || template === '/metrics';
    // The page's files depend on what the build embedded; the plan on the cutover policy.
    const ok = template.startsWith('/ui/') ? [200, 404] : template.endsWith('/plan') ? [200, 501] : 200;
    add({ label: `${template} as platform`, method: 'GET', path: fill(template, ctx, 'team'), token: 'platform', expect: ok });
    add({
      label: `${template} as team`,
      method: 'GET',
      path: fill(template, ctx, 'team'),
      token: 'team',
      expect: platformOnly ? 403 : ok,
    });
    if (named && !open) {
      add({ label: `${template} as another team`, method: 'GET', path: fill(template, ctx, 'team'), token: 'other_team', expect: 404 });
    }
    if (named) {
      add({ label: `${template} unknown name`, method: 'GET', path: template.replace(/\{[^}]+\}/g, 'no-such-name'), token: 'platform', expect: 404 });
    }
    add({
      label: `${template} without a token`,
      method: 'GET',
      path: fill(template, ctx, 'team'),
      expect: open ? ok : 401,
    });
  }
  add({ label: 'GET /v1/migrations filtered', method: 'GET', path: `/v1/migrations?team=${ctx.team}&phase=created`, token: 'platform', expect: 200 });
  add({ label: 'GET /v1/audit limit', method: 'GET', path: '/v1/audit?limit=5', token: 'platform', expect: 200 });
  add({ label: 'GET /v1/audit bad limit', method: 'GET', path: '/v1/audit?limit=x', token: 'platform', expect: 400 });
  add({ label: 'bad token', method: 'GET', path: '/v1/whoami', token: 'bogus', expect: 401 });
  ctx.tokenText.bogus = 'pgs_' + 'A'.repeat(43);

  // POSTs: a representative set, successes and every error class.
  const posts = ctx.posts || {};
  const nc = posts.new_cluster;
  const mig = ctx.migrations.team;
  const M = (suffix) => `/v1/migrations/${encodeURIComponent(mig)}${suffix}`;
  if (nc) {
    add({ label: 'register a cluster', method: 'POST', path: '/v1/clusters', token: 'team', body: nc, expect: 201 });
    add({ label: 'register it again', method: 'POST', path: '/v1/clusters', token: 'team', body: nc, expect: 409 });
    const withPassword = JSON.parse(JSON.stringify(nc));
    withPassword.name = nc.name + '-pw';
    withPassword.source.conninfo += ' password=canary';
    add({ label: 'conninfo with a password', method: 'POST', path: '/v1/clusters', token: 'team', body: withPassword, expect: 400 });
    const forOther = JSON.parse(JSON.stringify(nc));
    forOther.name = nc.name + '-other';
    forOther.team = ctx.other_team;
    add({ label: "register for another team", method: 'POST', path: '/v1/clusters', token: 'team', body: forOther, expect: 403 });
    const unreadable = JSON.parse(JSON.stringify(nc));
    unreadable.name = nc.name + '-secret';
    unreadable.source.password = { file: '/nonexistent/pgshift-openapi-check.pw' };
    add({ label: 'unreadable secret reference', method: 'POST', path: '/v1/clusters', token: 'team', body: unreadable, expect: 400 });
  }
  add({ label: 'cluster body not JSON', method: 'POST', path: '/v1/clusters', token: 'team', body: '{not json', expect: 400 });
  add({ label: 'cluster without a token', method: 'POST', path: '/v1/clusters', body: {}, expect: 401 });
  if (posts.new_migration) {
    add({ label: 'create a migration', method: 'POST', path: '/v1/migrations', token: 'team', body: posts.new_migration, expect: 201 });
    add({ label: 'create it again', method: 'POST', path: '/v1/migrations', token: 'team', body: posts.new_migration, expect: 409 });
  }
  add({ label: 'migration of an unknown cluster', method: 'POST', path: '/v1/migrations', token: 'team', body: { name: 'openapi-x', cluster: 'no-such-cluster' }, expect: 404 });
  add({ label: "migration of another team's cluster", method: 'POST', path: '/v1/migrations', token: 'team', body: { name: 'openapi-y', cluster: ctx.clusters.other_team }, expect: 404 });
  add({ label: 'migration with an unknown option', method: 'POST', path: '/v1/migrations', token: 'team', body: { name: 'openapi-z', cluster: ctx.clusters.team, options: { no_such_option: 1 } }, expect: 400 });
  add({ label: 'migration without a name', method: 'POST', path: '/v1/migrations', token: 'team', body: { cluster: ctx.clusters.team }, expect: 400 });
  add({ label: 'cutover before the gate', method: 'POST', path: M('/cutover'), token: 'team', body: {}, expect: 409 });
  add({ label: 'arm with a bad time', method: 'POST', path: M('/arm'), token: 'team', body: { not_before: 'tomorrow', window_end: 'later' }, expect: [400, 501] });
  add({ label: 'arm without a window end', method: 'POST', path: M('/arm'), token: 'team', body: {}, expect: [400, 501] });
  add({ label: 'disarm', method: 'POST', path: M('/disarm'), token: 'team', body: {} });
  add({ label: 'approve own', method: 'POST', path: M('/approve'), token: 'team', body: {} });
  add({ label: "start another team's", method: 'POST', path: `/v1/migrations/${encodeURIComponent(ctx.migrations.other_team)}/start`, token: 'team', body: {}, expect: 404 });
  add({ label: 'rollback unknown', method: 'POST', path: '/v1/migrations/no-such-name/rollback', token: 'platform', body: {}, expect: 404 });
  add({ label: 'start', method: 'POST', path: M('/start'), token: 'team', body: {}, expect: 202 });
  add({ label: 'start again', method: 'POST', path: M('/start'), token: 'team', body: {} });
  // Now that a rollback is possible, a body it does not know is refused for what it is.
  add({ label: 'rollback with an unknown member', method: 'POST', path: M('/rollback'), token: 'team', body: { keep: true }, expect: 400 });
  add({ label: 'cancel', method: 'POST', path: M('/cancel'), token: 'team', body: {} });
  add({ label: 'rollback', method: 'POST', path: M('/rollback'), token: 'team', body: { keep_target_writes: false } });
  add({ label: 'rollback again', method: 'POST', path: M('/rollback'), token: 'team', body: {} });

  // What the file does not document must not answer.
  const probes = new Set();
  for (const template of Object.keys(spec.doc.paths || {})) {
    const documented = spec.methods(template);
    for (const m of ['get', 'post', 'put', 'patch', 'delete']) {
      if (!documented.includes(m)) probes.add(`${m.toUpperCase()} ${fill(template, ctx, 'team')}`);
    }
  }
  // The API's whole surface as the contract names it (so that an endpoint left out of the file
  // is found), and paths a server might grow.
  const m1 = encodeURIComponent(mig);
  const c1 = encodeURIComponent(ctx.clusters.team);
  const surface = [
    '/v1/health', '/v1/whoami', '/v1/clusters', `/v1/clusters/${c1}`, '/v1/migrations',
    `/v1/migrations/${m1}`, `/v1/migrations/${m1}/start`, `/v1/migrations/${m1}/plan`,
    `/v1/migrations/${m1}/arm`, `/v1/migrations/${m1}/disarm`, `/v1/migrations/${m1}/approve`,
    `/v1/migrations/${m1}/cutover`, `/v1/migrations/${m1}/rollback`, `/v1/migrations/${m1}/cancel`,
    `/v1/migrations/${m1}/stream`, '/v1/stream', '/v1/audit', '/metrics',
  ];
  const extra = ['/v1', '/v1/', '/v1/tokens', '/v1/teams', '/v1/config', '/v1/version',
                 `/v1/migrations/${m1}/events`, `/v1/migrations/${m1}/delete`,
                 `/v1/clusters/${c1}/migrations`, '/v2/migrations', '/v1/migrations/a/b/c'];
  for (const p of [...surface, ...extra]) {
    for (const m of ['GET', 'POST']) {
      const template = spec.template(p.split('?')[0]);
      if (!template || !spec.operation(template, m)) probes.add(`${m} ${p}`);
    }
  }
  for (const p of probes) {
    const [method, ...rest] = p.split(' ');
    add({ label: 'undocumented', method, path: rest.join(' '), token: 'platform', body: method === 'GET' ? undefined : {}, probe: true });
  }

  for (const c of cases) await call(ctx, spec, c);

  if (mismatches.length) {
    console.log(`openapi check: ${checked} answers, ${mismatches.length} mismatches:`);
    for (const m of mismatches) console.log('  ' + m);
    process.exit(1);
  }
  console.log(`openapi check: ${checked} answers, all as docs/openapi.yaml documents them`);
}

main().catch((e) => {
  console.error('openapi check could not run: ' + (e && e.stack ? e.stack : e));
  process.exit(2);
});
