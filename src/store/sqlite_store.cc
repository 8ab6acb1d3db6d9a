// SQLite implementation of the migration store.
#include "store/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "store/sqlite_statement.h"

namespace pgshift {
namespace {

using sqlite::Stmt;
using sqlite::Txn;

// Version 1: migrations, events, pgshift_meta. Version 2 adds runner_leases (the runner was a
// flock on a file beside the store before).
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS pgshift_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO pgshift_meta VALUES ('schema_version', '1');
CREATE TABLE IF NOT EXISTS migrations(
  name TEXT PRIMARY KEY,
  phase INTEGER NOT NULL,
  spec TEXT NOT NULL,
  data TEXT NOT NULL DEFAULT '{}',
  cutover_requested INTEGER NOT NULL DEFAULT 0,
  rollback_requested INTEGER NOT NULL DEFAULT 0,
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  migration TEXT NOT NULL REFERENCES migrations(name),
  at REAL NOT NULL,
  from_phase INTEGER NOT NULL,
  to_phase INTEGER NOT NULL,
  reason TEXT NOT NULL);
)sql";

constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE IF NOT EXISTS runner_leases(
  migration TEXT PRIMARY KEY REFERENCES migrations(name),
  owner TEXT NOT NULL,
  token INTEGER NOT NULL,
  expires_at REAL NOT NULL);
UPDATE pgshift_meta SET value = '2' WHERE key = 'schema_version';
)sql";

// Version 3 adds route_versions: the last route version handed out per route key.
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE IF NOT EXISTS route_versions(
  route_key TEXT PRIMARY KEY,
  last INTEGER NOT NULL);
UPDATE pgshift_meta SET value = '3' WHERE key = 'schema_version';
)sql";

// Version 4 adds the control plane's tables (ControlStore): clusters, api_tokens, audit_log,
// migration_notes, migration_controls.
constexpr const char* kSchemaV4 = R"sql(
CREATE TABLE IF NOT EXISTS clusters(
  name TEXT PRIMARY KEY,
  team TEXT NOT NULL,
  labels TEXT NOT NULL,
  registration TEXT NOT NULL,
  created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS api_tokens(
  sha256 TEXT PRIMARY KEY,
  team TEXT NOT NULL,
  platform INTEGER NOT NULL,
  label TEXT NOT NULL,
  created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS audit_log(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at REAL NOT NULL,
  identity TEXT NOT NULL,
  team TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  result TEXT NOT NULL,
  status INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS audit_log_team ON audit_log(team, id);
CREATE TABLE IF NOT EXISTS migration_notes(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  migration TEXT NOT NULL,
  at REAL NOT NULL,
  text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS migration_notes_migration ON migration_notes(migration, id);
CREATE TABLE IF NOT EXISTS migration_controls(
  migration TEXT PRIMARY KEY,
  control TEXT NOT NULL,
  updated_at REAL NOT NULL);
UPDATE pgshift_meta SET value = '4' WHERE key = 'schema_version';
)sql";

// Version 5 adds campaigns (a document the scheduler owns, per campaign).
constexpr const char* kSchemaV5 = R"sql(
CREATE TABLE IF NOT EXISTS campaigns(
  name TEXT PRIMARY KEY,
  team TEXT NOT NULL,
  document TEXT NOT NULL,
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL);
UPDATE pgshift_meta SET value = '5' WHERE key = 'schema_version';
)sql";

constexpr const char* kSelectMigration =
    "SELECT name, phase, spec, data, cutover_requested, rollback_requested, created_at, "
    "updated_at FROM migrations";

Result<MigrationRecord> ReadRecord(const Stmt& s) {
  MigrationRecord r;
  r.name = s.Text(0);
  int64_t phase = s.Int(1);
  if (!ParsePhaseValue(static_cast<int>(phase), &r.phase)) return UnknownPhase(r.name, phase);
  r.spec = nlohmann::json::parse(s.Text(2), nullptr, false);
  r.data = nlohmann::json::parse(s.Text(3), nullptr, false);
  if (r.data.is_discarded()) r.data = nlohmann::json::object();
  r.cutover_requested = s.Int(4) != 0;
  r.rollback_requested = s.Int(5) != 0;
  r.created_at = s.Real(6);
  r.updated_at = s.Real(7);
  return r;
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  // Create the file owner-only before SQLite touches it: it holds connection secrets.
  int fd = open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    return InvalidArgument("store " + path + ": cannot open or create the file (" +
                           std::string(strerror(errno)) +
                           "); set --store or PGSHIFT_STORE to a "
                           "writable path");
  }
  struct stat file {};
  std::string loose;
  if (fstat(fd, &file) == 0 && (file.st_mode & 077) != 0) {
    char mode[8];
    snprintf(mode, sizeof(mode), "%04o", unsigned(file.st_mode & 07777));
    loose = "store " + path + " may be read or written by group or others (mode " + mode +
            "), and it holds connection secrets: chmod 600 " + path;
  }
  close(fd);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr) !=
      SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return InvalidArgument("store " + path + ": " + why);
  }
  sqlite3_busy_timeout(db, 10000);
  std::unique_ptr<SqliteStore> store(new SqliteStore(db, path));
  if (!loose.empty()) store->warnings_.push_back(loose);
  Status st = store->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
  if (st.ok()) st = store->Migrate();
  if (!st.ok()) {
    return InvalidArgument("store " + path + " is not a usable pgshift store: " + st.message());
  }
  return store;
}

Status SqliteStore::Migrate() {
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Txn txn(db_);
  RETURN_IF_ERROR(Exec(kSchemaV1));
  int version = 0;
  {
    Stmt v(db_, "SELECT value FROM pgshift_meta WHERE key = 'schema_version'");
    if (v.Step() != SQLITE_ROW) return Unavailable("no schema_version");
    version = std::atoi(v.Text(0).c_str());
  }
  if (version > kSchemaVersion) {
    return FailedPrecondition("schema version " + std::to_string(version) +
                              " is newer than this pgshift's (" + std::to_string(kSchemaVersion) +
                              "); use a newer pgshift");
  }
  if (version < 2) RETURN_IF_ERROR(Exec(kSchemaV2));
  if (version < 3) RETURN_IF_ERROR(Exec(kSchemaV3));
  if (version < 4) RETURN_IF_ERROR(Exec(kSchemaV4));
  if (version < 5) RETURN_IF_ERROR(Exec(kSchemaV5));
  RETURN_IF_ERROR(Exec("COMMIT"));
  txn.Committed();
  return Status::Ok();
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

Status SqliteStore::Unavailable(const std::string& what) const {
  return pgshift::Unavailable("store " + path_ + ": " + what);
}

Status SqliteStore::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown error";
    sqlite3_free(err);
    return Unavailable(m);
  }
  return Status::Ok();
}

Status SqliteStore::Create(const MigrationRecord& r, double now) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "INSERT INTO migrations(name, phase, spec, data, created_at, updated_at) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?5)");
  s.Bind(1, r.name).Bind(2, r.phase).Bind(3, r.spec.dump()).Bind(4, r.data.dump());
  s.Bind(5, now);
  int rc = s.Step();
  if (rc == SQLITE_CONSTRAINT) {
    return AlreadyExists("a migration named '" + r.name + "' already exists in " + path_ +
                         "; choose another name or see 'pgshift migrate status " + r.name + "'");
  }
  if (rc != SQLITE_DONE) return Unavailable(s.Error());
  return Status::Ok();
}

Result<MigrationRecord> SqliteStore::GetLocked(const std::string& name) {
  Stmt s(db_, (std::string(kSelectMigration) + " WHERE name = ?1").c_str());
  s.Bind(1, name);
  int rc = s.Step();
  if (rc == SQLITE_DONE) {
    return NotFound("no migration named '" + name + "' in " + path_ +
                    " (see 'pgshift migrate list')");
  }
  if (rc != SQLITE_ROW) return Unavailable(s.Error());
  return ReadRecord(s);
}

Result<MigrationRecord> SqliteStore::Get(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  return GetLocked(name);
}

Result<std::vector<MigrationRecord>> SqliteStore::List() {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_, (std::string(kSelectMigration) + " ORDER BY created_at").c_str());
  std::vector<MigrationRecord> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    ASSIGN_OR_RETURN(MigrationRecord r, ReadRecord(s));
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return Unavailable(s.Error());
  return out;
}

Result<std::vector<EventRecord>> SqliteStore::Events(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "SELECT id, at, from_phase, to_phase, reason FROM events WHERE migration = ?1 "
         "ORDER BY id");
  s.Bind(1, name);
  std::vector<EventRecord> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    EventRecord e{s.Int(0), s.Real(1), Phase::kCreated, Phase::kCreated, s.Text(4)};
    for (auto [col, out_phase] : {std::pair{2, &e.from_phase}, std::pair{3, &e.to_phase}}) {
      if (!ParsePhaseValue(static_cast<int>(s.Int(col)), out_phase)) {
        return UnknownPhase(name, s.Int(col));
      }
    }
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return Unavailable(s.Error());
  return out;
}

Result<LeaseRow> SqliteStore::LeaseLocked(const std::string& name) {
  Stmt s(db_, "SELECT owner, token, expires_at FROM runner_leases WHERE migration = ?1");
  s.Bind(1, name);
  int rc = s.Step();
  if (rc == SQLITE_DONE) return LeaseRow{};
  if (rc != SQLITE_ROW) return Unavailable(s.Error());
  return LeaseRow{s.Text(0), s.Int(1), s.Real(2)};
}

Status SqliteStore::PutLeaseLocked(const std::string& name, const LeaseRow& row) {
  Stmt s(db_,
         "INSERT INTO runner_leases(migration, owner, token, expires_at) VALUES (?1, ?2, ?3, ?4) "
         "ON CONFLICT(migration) DO UPDATE SET owner = ?2, token = ?3, expires_at = ?4");
  s.Bind(1, name).Bind(2, row.owner).Bind(3, row.token).Bind(4, row.expires_at);
  if (s.Step() != SQLITE_DONE) return Unavailable(s.Error());
  return Status::Ok();
}

Status SqliteStore::CheckLeaseLocked(const std::string& name, const RunnerLease& lease) {
  ASSIGN_OR_RETURN(LeaseRow cur, LeaseLocked(name));
  if (cur.owner.empty() || cur.owner != lease.owner || cur.token != lease.token) {
    return LeaseLost(name, lease);
  }
  return Status::Ok();
}

Status SqliteStore::WriteDataLocked(const std::string& name, const nlohmann::json& data,
                                    const char* extra_set, double now) {
  Stmt u(db_, (std::string("UPDATE migrations SET data = ?2, updated_at = ?3") + extra_set +
               " WHERE name = ?1")
                  .c_str());
  u.Bind(1, name).Bind(2, data.dump()).Bind(3, now);
  if (u.Step() != SQLITE_DONE) return Unavailable(u.Error());
  return Status::Ok();
}

Status SqliteStore::ApplyTransition(const std::string& name, const RunnerLease& lease, Phase from,
                                    Phase to, const std::string& reason,
                                    const nlohmann::json& patch, double now) {
  std::lock_guard<std::mutex> l(mu_);
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Txn txn(db_);
  ASSIGN_OR_RETURN(MigrationRecord cur, GetLocked(name));
  RETURN_IF_ERROR(CheckLeaseLocked(name, lease));
  RETURN_IF_ERROR(CheckTransition(name, cur, from, to));
  nlohmann::json data = cur.data;
  data.merge_patch(patch);
  Stmt u(db_, "UPDATE migrations SET phase = ?2, data = ?3, updated_at = ?4 WHERE name = ?1");
  u.Bind(1, name).Bind(2, to).Bind(3, data.dump()).Bind(4, now);
  if (u.Step() != SQLITE_DONE) return Unavailable(u.Error());
  Stmt e(db_,
         "INSERT INTO events(migration, at, from_phase, to_phase, reason) "
         "VALUES (?1, ?2, ?3, ?4, ?5)");
  e.Bind(1, name).Bind(2, now).Bind(3, from).Bind(4, to).Bind(5, reason);
  if (e.Step() != SQLITE_DONE) return Unavailable(e.Error());
  RETURN_IF_ERROR(Exec("COMMIT"));
  txn.Committed();
  return Status::Ok();
}

Status SqliteStore::MergeData(const std::string& name, const RunnerLease& lease,
                              Phase expected_phase, const nlohmann::json& patch, double now) {
  std::lock_guard<std::mutex> l(mu_);
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Txn txn(db_);
  ASSIGN_OR_RETURN(MigrationRecord cur, GetLocked(name));
  RETURN_IF_ERROR(CheckLeaseLocked(name, lease));
  if (cur.phase != expected_phase) return MovedOn(name, cur.phase, expected_phase);
  nlohmann::json data = cur.data;
  data.merge_patch(patch);
  RETURN_IF_ERROR(WriteDataLocked(name, data, "", now));
  RETURN_IF_ERROR(Exec("COMMIT"));
  txn.Committed();
  return Status::Ok();
}

Status SqliteStore::RequestCutover(const std::string& name, double now) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_, "UPDATE migrations SET cutover_requested = 1, updated_at = ?2 WHERE name = ?1");
  s.Bind(1, name).Bind(2, now);
  if (s.Step() != SQLITE_DONE) return Unavailable(s.Error());
  if (sqlite3_changes(db_) == 0) {
    return NotFound("no migration named '" + name + "' in " + path_);
  }
  return Status::Ok();
}

Status SqliteStore::RequestRollback(const std::string& name, const nlohmann::json& patch,
                                    double now) {
  std::lock_guard<std::mutex> l(mu_);
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Txn txn(db_);
  auto cur = GetLocked(name);
  if (!cur.ok() && cur.status().code() == Code::kNotFound) {
    return NotFound("no migration named '" + name + "' in " + path_);
  }
  RETURN_IF_ERROR(cur.status());
  RETURN_IF_ERROR(CheckRollbackRequest(name, *cur));
  nlohmann::json data = cur->data;
  data.merge_patch(patch);
  RETURN_IF_ERROR(WriteDataLocked(name, data, ", rollback_requested = 1", now));
  RETURN_IF_ERROR(Exec("COMMIT"));
  txn.Committed();
  return Status::Ok();
}

Result<LeaseGrant> SqliteStore::AcquireRunner(const std::string& name, const std::string& owner,
                                              std::chrono::milliseconds ttl, double now,
                                              const std::string& dead_owner) {
  std::lock_guard<std::mutex> l(mu_);
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Txn txn(db_);
  RETURN_IF_ERROR(GetLocked(name).status());
  ASSIGN_OR_RETURN(LeaseRow cur, LeaseLocked(name));
  bool granted = false;
  LeaseRow next = DecideRunnerGrant(cur, owner, ttl, now, dead_owner, &granted);
  LeaseGrant g;
  if (!granted) {
    g.holder = cur.owner;
    g.holder_expires_at = cur.expires_at;
    return g;  // the transaction is rolled back: nothing changed
  }
  RETURN_IF_ERROR(PutLeaseLocked(name, next));
  RETURN_IF_ERROR(Exec("COMMIT"));
  txn.Committed();
  g.acquired = true;
  g.lease = {next.owner, next.token};
  return g;
}

Status SqliteStore::RenewRunner(const std::string& name, const RunnerLease& lease,
                                std::chrono::milliseconds ttl, double now) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "UPDATE runner_leases SET expires_at = ?4 WHERE migration = ?1 AND owner = ?2 AND "
         "token = ?3");
  s.Bind(1, name).Bind(2, lease.owner).Bind(3, lease.token);
  s.Bind(4, now + std::chrono::duration<double>(ttl).count());
  if (s.Step() != SQLITE_DONE) return Unavailable(s.Error());
  if (sqlite3_changes(db_) == 0) return LeaseLost(name, lease);
  return Status::Ok();
}

Result<double> SqliteStore::CheckRunner(const std::string& name, const RunnerLease& lease) {
  std::lock_guard<std::mutex> l(mu_);
  ASSIGN_OR_RETURN(LeaseRow cur, LeaseLocked(name));
  if (cur.owner.empty() || cur.owner != lease.owner || cur.token != lease.token) {
    return LeaseLost(name, lease);
  }
  return cur.expires_at;
}

Status SqliteStore::ReleaseRunner(const std::string& name, const RunnerLease& lease) {
  std::lock_guard<std::mutex> l(mu_);
  Stmt s(db_,
         "UPDATE runner_leases SET owner = '', expires_at = 0 WHERE migration = ?1 AND "
         "owner = ?2 AND token = ?3");
  s.Bind(1, name).Bind(2, lease.owner).Bind(3, lease.token);
  if (s.Step() != SQLITE_DONE) return Unavailable(s.Error());
  return Status::Ok();
}

Result<uint64_t> SqliteStore::NextRouteVersion(const std::string& route_key) {
  if (route_key.empty()) return InvalidArgument("route version: the route key is empty");
  std::lock_guard<std::mutex> l(mu_);
  // IMMEDIATE: two orchestrators on one file never read the same last version.
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Txn txn(db_);
  {
    Stmt up(db_,
            "INSERT INTO route_versions(route_key, last) VALUES (?1, 1) "
            "ON CONFLICT(route_key) DO UPDATE SET last = last + 1");
    up.Bind(1, route_key);
    if (up.Step() != SQLITE_DONE) return Unavailable(up.Error());
  }
  int64_t last = 0;
  {
    Stmt get(db_, "SELECT last FROM route_versions WHERE route_key = ?1");
    get.Bind(1, route_key);
    if (get.Step() != SQLITE_ROW) return Unavailable(get.Error());
    last = get.Int(0);
  }
  RETURN_IF_ERROR(Exec("COMMIT"));
  txn.Committed();
  return static_cast<uint64_t>(last);
}

}  // namespace pgshift
