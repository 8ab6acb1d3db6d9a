// SQLite implementation of the migration store.
#include "store/migration_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pgshift {
namespace {

constexpr const char* kSchema = R"sql(
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

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  int Step() { return sqlite3_step(s_); }
  std::string Text(int c) const {
    auto p = sqlite3_column_text(s_, c);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  int64_t Int(int c) const { return sqlite3_column_int64(s_, c); }
  double Real(int c) const { return sqlite3_column_double(s_, c); }
  std::string Error() const { return sqlite3_errmsg(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

constexpr const char* kSelectMigration =
    "SELECT name, phase, spec, data, cutover_requested, rollback_requested, created_at, "
    "updated_at FROM migrations";

MigrationRecord ReadRecord(const Stmt& s) {
  MigrationRecord r;
  r.name = s.Text(0);
  r.phase = static_cast<int>(s.Int(1));
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

Result<std::unique_ptr<MigrationStore>> MigrationStore::Open(const std::string& path) {
  // Create the file owner-only before SQLite touches it: it holds connection secrets.
  int fd = open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    return InvalidArgument("store " + path + ": cannot open or create the file (" +
                           std::string(strerror(errno)) +
                           "); set --store or PGSHIFT_STORE to a "
                           "writable path");
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
  std::unique_ptr<MigrationStore> store(new MigrationStore(db, path));
  Status st = store->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
  if (st.ok()) st = store->Exec(kSchema);
  if (!st.ok()) {
    return InvalidArgument("store " + path + " is not a usable pgshift store: " + st.message());
  }
  return store;
}

MigrationStore::~MigrationStore() { sqlite3_close(db_); }

Status MigrationStore::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "unknown error";
    sqlite3_free(err);
    return Unavailable("store " + path_ + ": " + m);
  }
  return Status::Ok();
}

Status MigrationStore::Create(const MigrationRecord& r, double now) {
  Stmt s(db_,
         "INSERT INTO migrations(name, phase, spec, data, created_at, updated_at) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?5)");
  s.Bind(1, r.name).Bind(2, int64_t{r.phase}).Bind(3, r.spec.dump()).Bind(4, r.data.dump());
  s.Bind(5, now);
  int rc = s.Step();
  if (rc == SQLITE_CONSTRAINT) {
    return AlreadyExists("a migration named '" + r.name + "' already exists in " + path_ +
                         "; choose another name or see 'pgshift migrate status " + r.name + "'");
  }
  if (rc != SQLITE_DONE) return Unavailable("store " + path_ + ": " + s.Error());
  return Status::Ok();
}

Result<MigrationRecord> MigrationStore::Get(const std::string& name) {
  Stmt s(db_, (std::string(kSelectMigration) + " WHERE name = ?1").c_str());
  s.Bind(1, name);
  int rc = s.Step();
  if (rc == SQLITE_DONE) {
    return NotFound("no migration named '" + name + "' in " + path_ +
                    " (see 'pgshift migrate list')");
  }
  if (rc != SQLITE_ROW) return Unavailable("store " + path_ + ": " + s.Error());
  return ReadRecord(s);
}

Result<std::vector<MigrationRecord>> MigrationStore::List() {
  Stmt s(db_, (std::string(kSelectMigration) + " ORDER BY created_at").c_str());
  std::vector<MigrationRecord> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadRecord(s));
  if (rc != SQLITE_DONE) return Unavailable("store " + path_ + ": " + s.Error());
  return out;
}

Result<std::vector<EventRecord>> MigrationStore::Events(const std::string& name) {
  Stmt s(db_,
         "SELECT id, at, from_phase, to_phase, reason FROM events WHERE migration = ?1 "
         "ORDER BY id");
  s.Bind(1, name);
  std::vector<EventRecord> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    out.push_back(
        {s.Int(0), s.Real(1), static_cast<int>(s.Int(2)), static_cast<int>(s.Int(3)), s.Text(4)});
  }
  if (rc != SQLITE_DONE) return Unavailable("store " + path_ + ": " + s.Error());
  return out;
}

Status MigrationStore::ApplyTransition(const std::string& name, int from, int to,
                                       const std::string& reason, const nlohmann::json& patch,
                                       double now) {
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto rollback = [&](Status st) {
    (void)Exec("ROLLBACK");
    return st;
  };
  auto cur = Get(name);
  if (!cur.ok()) return rollback(cur.status());
  if (cur->phase != from) {
    return rollback(Aborted("migration '" + name + "' moved on (phase " +
                            std::to_string(cur->phase) + ", expected " + std::to_string(from) +
                            "); re-read and re-plan"));
  }
  nlohmann::json data = cur->data;
  data.merge_patch(patch);
  Stmt u(db_, "UPDATE migrations SET phase = ?2, data = ?3, updated_at = ?4 WHERE name = ?1");
  u.Bind(1, name).Bind(2, int64_t{to}).Bind(3, data.dump()).Bind(4, now);
  if (u.Step() != SQLITE_DONE) return rollback(Unavailable("store " + path_ + ": " + u.Error()));
  Stmt e(db_,
         "INSERT INTO events(migration, at, from_phase, to_phase, reason) "
         "VALUES (?1, ?2, ?3, ?4, ?5)");
  e.Bind(1, name).Bind(2, now).Bind(3, int64_t{from}).Bind(4, int64_t{to}).Bind(5, reason);
  if (e.Step() != SQLITE_DONE) return rollback(Unavailable("store " + path_ + ": " + e.Error()));
  return Exec("COMMIT");
}

Status MigrationStore::MergeData(const std::string& name, int expected_phase,
                                 const nlohmann::json& patch, double now) {
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto cur = Get(name);
  if (!cur.ok() || cur->phase != expected_phase) {
    (void)Exec("ROLLBACK");
    return cur.ok() ? Aborted("migration '" + name + "' moved on; re-read and re-plan")
                    : cur.status();
  }
  nlohmann::json data = cur->data;
  data.merge_patch(patch);
  Stmt u(db_, "UPDATE migrations SET data = ?2, updated_at = ?3 WHERE name = ?1");
  u.Bind(1, name).Bind(2, data.dump()).Bind(3, now);
  if (u.Step() != SQLITE_DONE) {
    (void)Exec("ROLLBACK");
    return Unavailable("store " + path_ + ": " + u.Error());
  }
  return Exec("COMMIT");
}

Status MigrationStore::SetFlag(const std::string& name, const char* column, double now) {
  Stmt s(db_,
         (std::string("UPDATE migrations SET ") + column + " = 1, updated_at = ?2 WHERE name = ?1")
             .c_str());
  s.Bind(1, name).Bind(2, now);
  if (s.Step() != SQLITE_DONE) return Unavailable("store " + path_ + ": " + s.Error());
  if (sqlite3_changes(db_) == 0) {
    return NotFound("no migration named '" + name + "' in " + path_);
  }
  return Status::Ok();
}

Status MigrationStore::RequestCutover(const std::string& name, double now) {
  return SetFlag(name, "cutover_requested", now);
}

Status MigrationStore::RequestRollback(const std::string& name, double now) {
  return SetFlag(name, "rollback_requested", now);
}

}  // namespace pgshift
