// PostgreSQL implementation of the migration store.
#include "store/postgres_store.h"

#include <libpq-fe.h>

#include <charconv>

namespace pgshift {
namespace {

// The advisory lock that serializes schema creation and upgrades: "pgsh" and the schema name's
// hash, held until the DDL transaction ends.
constexpr int64_t kSchemaLockKey = 0x70677368;

// Schema versions, numbered as SqliteStore's: 1 migrations and events, 2 runner_leases,
// 3 route_versions, 4 the control plane's tables, 5 campaigns. `@` stands for the quoted schema
// name. Each step also records its version.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE @.migrations(
  name text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  phase integer NOT NULL,
  spec text NOT NULL,
  data text NOT NULL DEFAULT '{}',
  cutover_requested boolean NOT NULL DEFAULT false,
  rollback_requested boolean NOT NULL DEFAULT false,
  created_at double precision NOT NULL,
  updated_at double precision NOT NULL);
CREATE TABLE @.events(
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  migration text NOT NULL REFERENCES @.migrations(name),
  at double precision NOT NULL,
  from_phase integer NOT NULL,
  to_phase integer NOT NULL,
  reason text NOT NULL);
CREATE INDEX events_migration_id ON @.events(migration, id);
UPDATE @.pgshift_meta SET value = '1' WHERE key = 'schema_version';
)sql";

constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE @.runner_leases(
  migration text PRIMARY KEY REFERENCES @.migrations(name),
  owner text NOT NULL,
  token bigint NOT NULL,
  expires_at double precision NOT NULL);
UPDATE @.pgshift_meta SET value = '2' WHERE key = 'schema_version';
)sql";

constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE @.route_versions(
  route_key text PRIMARY KEY,
  last bigint NOT NULL);
UPDATE @.pgshift_meta SET value = '3' WHERE key = 'schema_version';
)sql";

// Version 4: the control plane's tables (ControlStore), the same as SqliteStore's version 4.
constexpr const char* kSchemaV4 = R"sql(
CREATE TABLE @.clusters(
  name text PRIMARY KEY,
  team text NOT NULL,
  labels text NOT NULL,
  registration text NOT NULL,
  created_at double precision NOT NULL);
CREATE TABLE @.api_tokens(
  sha256 text PRIMARY KEY,
  team text NOT NULL,
  platform boolean NOT NULL,
  label text NOT NULL,
  created_at double precision NOT NULL);
CREATE TABLE @.audit_log(
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at double precision NOT NULL,
  identity text NOT NULL,
  team text NOT NULL,
  action text NOT NULL,
  target text NOT NULL,
  result text NOT NULL,
  status integer NOT NULL);
CREATE INDEX audit_log_team ON @.audit_log(team, id);
CREATE TABLE @.migration_notes(
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  migration text NOT NULL,
  at double precision NOT NULL,
  text text NOT NULL);
CREATE INDEX migration_notes_migration ON @.migration_notes(migration, id);
CREATE TABLE @.migration_controls(
  migration text PRIMARY KEY,
  control text NOT NULL,
  updated_at double precision NOT NULL);
UPDATE @.pgshift_meta SET value = '4' WHERE key = 'schema_version';
)sql";

// Version 5: campaigns (the scheduler's document per campaign), as SqliteStore's version 5.
constexpr const char* kSchemaV5 = R"sql(
CREATE TABLE @.campaigns(
  name text PRIMARY KEY,
  team text NOT NULL,
  document text NOT NULL,
  created_at double precision NOT NULL,
  updated_at double precision NOT NULL);
UPDATE @.pgshift_meta SET value = '5' WHERE key = 'schema_version';
)sql";

std::string QuoteName(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

std::string WithSchema(const char* sql, const std::string& schema_q) {
  std::string out;
  for (const char* p = sql; *p; ++p) {
    if (*p == '@') {
      out += schema_q;
    } else {
      out.push_back(*p);
    }
  }
  return out;
}

// Shortest text that reads back as the same double (PostgreSQL 12+ prints float8 the same way).
std::string Num(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}
std::string Num(int64_t v) { return std::to_string(v); }
std::string Num(Phase p) { return std::to_string(static_cast<int>(p)); }

constexpr const char* kMigrationColumns =
    "name, phase, spec, data, cutover_requested, rollback_requested, created_at, updated_at";

Result<MigrationRecord> ReadRecord(const PgResult& r, int row) {
  MigrationRecord m;
  m.name = r.Get(row, "name");
  int64_t phase = r.GetInt(row, "phase");
  if (!ParsePhaseValue(static_cast<int>(phase), &m.phase)) return UnknownPhase(m.name, phase);
  m.spec = nlohmann::json::parse(r.Get(row, "spec"), nullptr, false);
  m.data = nlohmann::json::parse(r.Get(row, "data"), nullptr, false);
  if (m.data.is_discarded()) m.data = nlohmann::json::object();
  m.cutover_requested = r.GetBool(row, "cutover_requested");
  m.rollback_requested = r.GetBool(row, "rollback_requested");
  m.created_at = r.GetDouble(row, "created_at");
  m.updated_at = r.GetDouble(row, "updated_at");
  return m;
}

bool IsLease(const PgResult& r, const RunnerLease& lease) {
  if (r.rows() == 0) return false;
  std::string owner = r.Get(0, "owner");
  return !owner.empty() && owner == lease.owner && r.GetInt(0, "token") == lease.token;
}

// libpq keeps a dead peer's connection waiting for the kernel's TCP timeouts (minutes) unless
// told otherwise; a store call that hangs that long outlives every lease. The operator's own
// settings win.
ConnInfo WithStoreDefaults(ConnInfo info) {
  for (auto [key, value] :
       {std::pair{"keepalives_idle", "5"}, std::pair{"keepalives_interval", "2"},
        std::pair{"keepalives_count", "3"}, std::pair{"tcp_user_timeout", "10000"}}) {
    if (info.Get(key).empty()) info = info.With(key, value);
  }
  return info;
}

}  // namespace

PostgresStore::PostgresStore(ConnInfo info, std::string schema)
    : info_(WithStoreDefaults(info)),
      schema_(std::move(schema)),
      schema_q_(QuoteName(schema_)),
      location_(info.Redacted() + " (schema " + schema_ + ")") {}

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& conninfo,
                                                           const std::string& schema) {
  ASSIGN_OR_RETURN(ConnInfo info, ConnInfo::Parse(conninfo, "PostgreSQL store"));
  if (schema.empty() || schema.size() > 63 || schema.find('\0') != std::string::npos) {
    return InvalidArgument(info.Label() + ": schema name '" + schema +
                           "' is not usable (1 to 63 bytes)");
  }
  std::unique_ptr<PostgresStore> store(new PostgresStore(std::move(info), schema));
  std::lock_guard<std::mutex> l(store->mu_);
  Status st = store->InTxnLocked([&](PgConnection& c) { return store->Migrate(c); });
  if (!st.ok()) return st;
  return store;
}

Status PostgresStore::Migrate(PgConnection& c) {
  RETURN_IF_ERROR(c.Exec("SELECT pg_advisory_xact_lock($1::int4, hashtext($2))",
                         {Num(kSchemaLockKey), schema_}));
  // Existence is read from the catalog rather than asked of CREATE ... IF NOT EXISTS: a role
  // that may use an up-to-date schema but not create one in the database opens it all the same.
  ASSIGN_OR_RETURN(std::string has_schema,
                   c.QueryValue("SELECT count(*) FROM pg_namespace WHERE nspname = $1", {schema_}));
  if (has_schema == "0") RETURN_IF_ERROR(c.Exec("CREATE SCHEMA " + schema_q_));
  ASSIGN_OR_RETURN(std::string has_meta,
                   c.QueryValue("SELECT to_regclass($1) IS NOT NULL", {T("pgshift_meta")}));
  if (has_meta != "t") {
    RETURN_IF_ERROR(c.Exec(WithSchema(R"sql(
CREATE TABLE @.pgshift_meta(key text PRIMARY KEY, value text NOT NULL);
INSERT INTO @.pgshift_meta VALUES ('schema_version', '0');
)sql",
                                      schema_q_)));
  }
  ASSIGN_OR_RETURN(PgResult v, c.Query("SELECT value FROM " + T("pgshift_meta") +
                                       " WHERE key = 'schema_version'"));
  if (v.rows() != 1) {
    return FailedPrecondition(info_.Label() + ": schema " + schema_ +
                              " has no schema_version row in pgshift_meta; is it a pgshift "
                              "store? Choose another schema or repair it");
  }
  int version = std::atoi(v.Get(0, 0).c_str());
  if (version > kSchemaVersion) {
    return FailedPrecondition(info_.Label() + ": schema " + schema_ + " is at store version " +
                              std::to_string(version) + ", newer than this pgshift's (" +
                              std::to_string(kSchemaVersion) +
                              "); use a newer pgshift (the schema was left as it is)");
  }
  if (version < 1) RETURN_IF_ERROR(c.Exec(WithSchema(kSchemaV1, schema_q_)));
  if (version < 2) RETURN_IF_ERROR(c.Exec(WithSchema(kSchemaV2, schema_q_)));
  if (version < 3) RETURN_IF_ERROR(c.Exec(WithSchema(kSchemaV3, schema_q_)));
  if (version < 4) RETURN_IF_ERROR(c.Exec(WithSchema(kSchemaV4, schema_q_)));
  if (version < 5) RETURN_IF_ERROR(c.Exec(WithSchema(kSchemaV5, schema_q_)));
  return Status::Ok();
}

Result<PgConnection*> PostgresStore::ConnLocked() {
  if (conn_ && PQstatus(conn_->raw()) != CONNECTION_OK) conn_.reset();
  if (conn_ && PQtransactionStatus(conn_->raw()) != PQTRANS_IDLE) {
    (void)conn_->Exec("ROLLBACK");
    if (PQtransactionStatus(conn_->raw()) != PQTRANS_IDLE) conn_.reset();
  }
  if (!conn_) {
    ASSIGN_OR_RETURN(PgConnection c, PgConnection::Connect(info_));
    // A server stopped (SIGSTOP, a long pause) inside one of these short transactions would
    // keep its row locks, and every other server's takeover waiting, for as long as its TCP
    // connection lives; PostgreSQL ends such a session instead, and its transaction with it.
    RETURN_IF_ERROR(c.Exec("SET idle_in_transaction_session_timeout = " +
                           std::to_string(kIdleInTransactionTimeout.count())));
    conn_.emplace(std::move(c));
  }
  return &*conn_;
}

Status PostgresStore::Checked(const Status& st) {
  if (st.ok() || !conn_) return st;
  // A connection that broke is an outage whatever the server said last (57P01 at shutdown,
  // 25P03 for a session ended idle in a transaction, none at all): drop it, the next call
  // connects anew.
  if (PQstatus(conn_->raw()) != CONNECTION_OK) {
    conn_.reset();
    if (st.code() != Code::kUnavailable) return Unavailable(st.message());
    return st;
  }
  // kUnavailable is how PgConnection reports a connection it no longer trusts (class 08).
  if (st.code() == Code::kUnavailable) conn_.reset();
  return st;
}

Status PostgresStore::InTxnLocked(const std::function<Status(PgConnection&)>& body) {
  ASSIGN_OR_RETURN(PgConnection * c, ConnLocked());
  Status st = c->Exec("BEGIN");
  if (!st.ok()) return Checked(st);
  st = body(*c);
  if (st.ok()) {
    st = c->Exec("COMMIT");
  } else if (PQstatus(c->raw()) == CONNECTION_OK) {
    (void)c->Exec("ROLLBACK");
  }
  return Checked(st);
}

Result<PgResult> PostgresStore::QueryLocked(const std::string& sql, const Params& params) {
  ASSIGN_OR_RETURN(PgConnection * c, ConnLocked());
  auto r = c->Query(sql, params);
  if (!r.ok()) return Checked(r.status());
  return r;
}

std::string PostgresStore::Float8(double v) { return Num(v); }

Status PostgresStore::NoSuchMigration(const std::string& name) const {
  return NotFound("no migration named '" + name + "' in " + location_ +
                  " (see 'pgshift migrate list')");
}

Result<MigrationRecord> PostgresStore::GetOn(PgConnection& c, const std::string& name,
                                             bool for_update) {
  ASSIGN_OR_RETURN(PgResult r,
                   c.Query(std::string("SELECT ") + kMigrationColumns + " FROM " + T("migrations") +
                               " WHERE name = $1" + (for_update ? " FOR UPDATE" : ""),
                           {name}));
  if (r.rows() == 0) return NoSuchMigration(name);
  return ReadRecord(r, 0);
}

Status PostgresStore::Create(const MigrationRecord& rec, double now) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(PgResult r, QueryLocked("INSERT INTO " + T("migrations") +
                                               "(name, phase, spec, data, created_at, updated_at) "
                                               "VALUES ($1, $2, $3, $4, $5, $5) "
                                               "ON CONFLICT (name) DO NOTHING RETURNING name",
                                           {rec.name, Num(rec.phase), rec.spec.dump(),
                                            rec.data.dump(), Num(now)}));
  if (r.rows() == 0) {
    return AlreadyExists("a migration named '" + rec.name + "' already exists in " + location_ +
                         "; choose another name or see 'pgshift migrate status " + rec.name + "'");
  }
  return Status::Ok();
}

Result<MigrationRecord> PostgresStore::Get(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(PgConnection * c, ConnLocked());
  auto r = GetOn(*c, name, false);
  if (!r.ok()) return Checked(r.status());
  return r;
}

Result<std::vector<MigrationRecord>> PostgresStore::List() {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(PgResult r, QueryLocked(std::string("SELECT ") + kMigrationColumns + " FROM " +
                                               T("migrations") + " ORDER BY created_at, seq",
                                           {}));
  std::vector<MigrationRecord> out;
  for (int i = 0; i < r.rows(); ++i) {
    ASSIGN_OR_RETURN(MigrationRecord m, ReadRecord(r, i));
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<EventRecord>> PostgresStore::Events(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(PgResult r, QueryLocked("SELECT id, at, from_phase, to_phase, reason FROM " +
                                               T("events") + " WHERE migration = $1 ORDER BY id",
                                           {name}));
  std::vector<EventRecord> out;
  for (int i = 0; i < r.rows(); ++i) {
    EventRecord e{r.GetInt(i, "id"), r.GetDouble(i, "at"), Phase::kCreated, Phase::kCreated,
                  r.Get(i, "reason")};
    for (auto [col, out_phase] :
         {std::pair{"from_phase", &e.from_phase}, std::pair{"to_phase", &e.to_phase}}) {
      int64_t v = r.GetInt(i, col);
      if (!ParsePhaseValue(static_cast<int>(v), out_phase)) return UnknownPhase(name, v);
    }
    out.push_back(std::move(e));
  }
  return out;
}

Status PostgresStore::ApplyTransition(const std::string& name, const RunnerLease& lease, Phase from,
                                      Phase to, const std::string& reason,
                                      const nlohmann::json& patch, double now) {
  std::lock_guard<std::mutex> l(mu_);
  return InTxnLocked([&](PgConnection& c) -> Status {
    // The lease row first (every lease change takes it too), then the migration row.
    ASSIGN_OR_RETURN(PgResult held, c.Query("SELECT owner, token FROM " + T("runner_leases") +
                                                " WHERE migration = $1 FOR UPDATE",
                                            {name}));
    if (inside_write_for_test_) inside_write_for_test_();
    ASSIGN_OR_RETURN(MigrationRecord cur, GetOn(c, name, true));
    if (!IsLease(held, lease)) return LeaseLost(name, lease);
    RETURN_IF_ERROR(CheckTransition(name, cur, from, to));
    nlohmann::json data = cur.data;
    data.merge_patch(patch);
    RETURN_IF_ERROR(c.Exec(
        "UPDATE " + T("migrations") + " SET phase = $2, data = $3, updated_at = $4 WHERE name = $1",
        {name, Num(to), data.dump(), Num(now)}));
    return c.Exec("INSERT INTO " + T("events") +
                      "(migration, at, from_phase, to_phase, reason) VALUES ($1, $2, $3, $4, $5)",
                  {name, Num(now), Num(from), Num(to), reason});
  });
}

Status PostgresStore::MergeData(const std::string& name, const RunnerLease& lease,
                                Phase expected_phase, const nlohmann::json& patch, double now) {
  std::lock_guard<std::mutex> l(mu_);
  return InTxnLocked([&](PgConnection& c) -> Status {
    ASSIGN_OR_RETURN(PgResult held, c.Query("SELECT owner, token FROM " + T("runner_leases") +
                                                " WHERE migration = $1 FOR UPDATE",
                                            {name}));
    if (inside_write_for_test_) inside_write_for_test_();
    ASSIGN_OR_RETURN(MigrationRecord cur, GetOn(c, name, true));
    if (!IsLease(held, lease)) return LeaseLost(name, lease);
    if (cur.phase != expected_phase) return MovedOn(name, cur.phase, expected_phase);
    nlohmann::json data = cur.data;
    data.merge_patch(patch);
    return c.Exec("UPDATE " + T("migrations") + " SET data = $2, updated_at = $3 WHERE name = $1",
                  {name, data.dump(), Num(now)});
  });
}

Status PostgresStore::RequestCutover(const std::string& name, double now) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(PgResult r, QueryLocked("UPDATE " + T("migrations") +
                                               " SET cutover_requested = true, updated_at = $2 "
                                               "WHERE name = $1 RETURNING name",
                                           {name, Num(now)}));
  if (r.rows() == 0) return NoSuchMigration(name);
  return Status::Ok();
}

Status PostgresStore::RequestRollback(const std::string& name, const nlohmann::json& patch,
                                      double now) {
  std::lock_guard<std::mutex> l(mu_);
  return InTxnLocked([&](PgConnection& c) -> Status {
    ASSIGN_OR_RETURN(MigrationRecord cur, GetOn(c, name, true));
    RETURN_IF_ERROR(CheckRollbackRequest(name, cur));
    nlohmann::json data = cur.data;
    data.merge_patch(patch);
    return c.Exec("UPDATE " + T("migrations") +
                      " SET data = $2, updated_at = $3, rollback_requested = true WHERE name = $1",
                  {name, data.dump(), Num(now)});
  });
}

Result<LeaseGrant> PostgresStore::AcquireRunner(const std::string& name, const std::string& owner,
                                                std::chrono::milliseconds ttl, double now,
                                                const std::string& dead_owner) {
  std::lock_guard<std::mutex> l(mu_);
  LeaseGrant g;
  RETURN_IF_ERROR(InTxnLocked([&](PgConnection& c) -> Status {
    ASSIGN_OR_RETURN(PgResult exists,
                     c.Query("SELECT 1 FROM " + T("migrations") + " WHERE name = $1", {name}));
    if (exists.rows() == 0) return NoSuchMigration(name);
    // A migration that never had a runner gets its (free) lease row first, so that two
    // servers racing for it both wait on the one row below.
    RETURN_IF_ERROR(c.Exec("INSERT INTO " + T("runner_leases") +
                               "(migration, owner, token, expires_at) VALUES ($1, '', 0, 0) "
                               "ON CONFLICT (migration) DO NOTHING",
                           {name}));
    ASSIGN_OR_RETURN(PgResult r,
                     c.Query("SELECT owner, token, expires_at FROM " + T("runner_leases") +
                                 " WHERE migration = $1 FOR UPDATE",
                             {name}));
    if (r.rows() != 1) return Internal("migration '" + name + "': its lease row vanished");
    LeaseRow cur{r.Get(0, "owner"), r.GetInt(0, "token"), r.GetDouble(0, "expires_at")};
    bool granted = false;
    LeaseRow next = DecideRunnerGrant(cur, owner, ttl, now, dead_owner, &granted);
    if (!granted) {
      g.holder = cur.owner;
      g.holder_expires_at = cur.expires_at;
      return Status::Ok();
    }
    RETURN_IF_ERROR(c.Exec("UPDATE " + T("runner_leases") +
                               " SET owner = $2, token = $3, expires_at = $4 WHERE migration = $1",
                           {name, next.owner, Num(next.token), Num(next.expires_at)}));
    g.acquired = true;
    g.lease = {next.owner, next.token};
    return Status::Ok();
  }));
  return g;
}

Status PostgresStore::RenewRunner(const std::string& name, const RunnerLease& lease,
                                  std::chrono::milliseconds ttl, double now) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(PgResult r,
                   QueryLocked("UPDATE " + T("runner_leases") +
                                   " SET expires_at = $4 WHERE migration = $1 AND owner = $2 AND "
                                   "owner <> '' AND token = $3 RETURNING token",
                               {name, lease.owner, Num(lease.token),
                                Num(now + std::chrono::duration<double>(ttl).count())}));
  if (r.rows() == 0) return LeaseLost(name, lease);
  return Status::Ok();
}

Result<double> PostgresStore::CheckRunner(const std::string& name, const RunnerLease& lease) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(PgResult r, QueryLocked("SELECT owner, token, expires_at FROM " +
                                               T("runner_leases") + " WHERE migration = $1",
                                           {name}));
  if (!IsLease(r, lease)) return LeaseLost(name, lease);
  return r.GetDouble(0, "expires_at");
}

Status PostgresStore::ReleaseRunner(const std::string& name, const RunnerLease& lease) {
  std::lock_guard<std::mutex> l(mu_);
  return QueryLocked("UPDATE " + T("runner_leases") +
                         " SET owner = '', expires_at = 0 WHERE migration = $1 AND owner = $2 "
                         "AND token = $3",
                     {name, lease.owner, Num(lease.token)})
      .status();
}

Result<uint64_t> PostgresStore::NextRouteVersion(const std::string& route_key) {
  if (route_key.empty()) return InvalidArgument("route version: the route key is empty");
  std::lock_guard<std::mutex> l(mu_);
  // One statement: the row lock of the upsert orders concurrent servers.
  ASSIGN_OR_RETURN(PgResult r, QueryLocked("INSERT INTO " + T("route_versions") +
                                               " AS r (route_key, last) VALUES ($1, 1) "
                                               "ON CONFLICT (route_key) DO UPDATE SET "
                                               "last = r.last + 1 RETURNING last",
                                           {route_key}));
  if (r.rows() != 1) return Internal("route version: the upsert returned no row");
  return static_cast<uint64_t>(r.GetInt(0, "last"));
}

}  // namespace pgshift
