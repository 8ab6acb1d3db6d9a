// MigrationStore: the durable state of every migration, in an embedded SQLite file.
//
// A migration row holds its phase (the workflow's enum value, as an integer: display names
// are made at the edge), its spec and the data its steps recorded, and operator requests
// (cutover, rollback). Every phase change goes through ApplyTransition, which compares the
// current phase and writes the event row in the same SQLite transaction, so two runners racing
// on one migration cannot both move it: the loser gets kAborted and re-reads.
//
// The file holds connection strings with their passwords (the orchestrator's secret source);
// it is created readable by its owner only.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

struct sqlite3;

namespace pgshift {

struct MigrationRecord {
  std::string name;
  int phase = 0;
  nlohmann::json spec = nlohmann::json::object();
  nlohmann::json data = nlohmann::json::object();
  bool cutover_requested = false;
  bool rollback_requested = false;
  double created_at = 0;
  double updated_at = 0;
};

struct EventRecord {
  int64_t id = 0;
  double at = 0;
  int from_phase = 0;
  int to_phase = 0;
  std::string reason;
};

class MigrationStore {
 public:
  // Opens (creating if needed) the store at `path`. kInvalidArgument naming the path when it
  // is not a pgshift store or cannot be opened.
  static Result<std::unique_ptr<MigrationStore>> Open(const std::string& path);
  ~MigrationStore();

  // kAlreadyExists if a migration of that name exists.
  Status Create(const MigrationRecord& record, double now);
  Result<MigrationRecord> Get(const std::string& name);
  Result<std::vector<MigrationRecord>> List();
  Result<std::vector<EventRecord>> Events(const std::string& name);

  // Moves `name` from phase `from` to `to` and merges `data_patch` into its data, writing the
  // event row in the same transaction. kAborted if the phase is no longer `from`.
  Status ApplyTransition(const std::string& name, int from, int to, const std::string& reason,
                         const nlohmann::json& data_patch, double now);
  // Merges `patch` into the data without changing the phase (a step recording its intent or
  // its result). kAborted if the phase is no longer `expected_phase`.
  Status MergeData(const std::string& name, int expected_phase, const nlohmann::json& patch,
                   double now);
  Status RequestCutover(const std::string& name, double now);
  Status RequestRollback(const std::string& name, double now);
  const std::string& path() const { return path_; }

 private:
  MigrationStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status Exec(const std::string& sql);
  Status SetFlag(const std::string& name, const char* column, double now);
  sqlite3* db_;
  std::string path_;
};

}  // namespace pgshift
