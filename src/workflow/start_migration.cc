// Validation of a new migration before it is recorded.
#include "workflow/start_migration.h"

#include <filesystem>
#include <regex>

#include "migration/phase.h"
#include "pg/connection.h"
#include "platform/local_instance.h"
#include "platform/port_reservation.h"

namespace fs = std::filesystem;

namespace pgshift {
namespace {

Status ValidateName(const std::string& name) {
  static const std::regex ok("^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$");
  if (!std::regex_match(name, ok)) {
    return InvalidArgument("migration name '" + name +
                           "' is not valid: use 1-63 letters, digits, '_', '.', '-'");
  }
  return Status::Ok();
}

Status CheckLocalTarget(MigrationSpec& spec, PgConnection& source, const StartRequest& req) {
  spec.platform = "local";
  spec.target_dir = fs::absolute(*req.create_target_dir).lexically_normal().string();
  if (fs::exists(spec.target_dir) && !fs::is_empty(spec.target_dir)) {
    return InvalidArgument("--create-target " + spec.target_dir +
                           " exists and is not empty; give a new directory");
  }
  ASSIGN_OR_RETURN(spec.source_data_dir, source.QueryValue("SHOW data_directory"));
  if (!fs::exists(spec.source_data_dir + "/PG_VERSION")) {
    return InvalidArgument(spec.source.Label() + " keeps its data in " + spec.source_data_dir +
                           ", which is not on this host: --create-target needs a source on this "
                           "host; for a remote source give --target CONNINFO of its replica");
  }
  if (req.target_port) {
    spec.target_port = *req.target_port;
  } else {
    ASSIGN_OR_RETURN(spec.target_port, ReservePort());
  }
  // The replica is reached like the source (same role, password, database) on this host.
  ConnInfo local = spec.source.With("host", "127.0.0.1")
                       .With("hostaddr", "127.0.0.1")
                       .With("port", std::to_string(spec.target_port));
  ASSIGN_OR_RETURN(spec.target, ConnInfo::Parse(local.raw(), "target"));
  if (!spec.target_password) spec.target_password = spec.source_password;
  return Status::Ok();
}

Status CheckExternalTarget(MigrationSpec& spec, PgConnection& source, const StartRequest& req) {
  spec.platform = "external";
  ASSIGN_OR_RETURN(spec.target, ConnInfo::Parse(*req.target, "target"));
  MigrationSpec live = spec;  // passwords read from their references, for this check only
  RETURN_IF_ERROR(ResolvePasswords(live));
  ASSIGN_OR_RETURN(PgConnection target, PgConnection::Connect(live.target));
  const std::string q = "SELECT system_identifier::text FROM pg_control_system()";
  ASSIGN_OR_RETURN(std::string sid_source, source.QueryValue(q));
  ASSIGN_OR_RETURN(std::string sid_target, target.QueryValue(q));
  if (sid_source != sid_target) {
    return InvalidArgument(spec.target.Label() + " is not a replica of " + spec.source.Label() +
                           ": system identifiers differ (" + sid_target + " vs " + sid_source +
                           "); give a physical replica built from this source");
  }
  ASSIGN_OR_RETURN(std::string rec, target.QueryValue("SELECT pg_is_in_recovery()"));
  if (rec != "t") {
    return InvalidArgument(spec.target.Label() +
                           " is not in recovery (already a primary); give a streaming replica");
  }
  return Status::Ok();
}

}  // namespace

Result<MigrationSpec> StartMigration(MigrationStore& store, const StartRequest& req, Clock& clock) {
  RETURN_IF_ERROR(ValidateName(req.name));
  if (req.target.has_value() == req.create_target_dir.has_value()) {
    return InvalidArgument(
        "give exactly one of --target CONNINFO (an existing replica) or "
        "--create-target DIR (pgshift builds one)");
  }
  MigrationSpec spec = req.options;
  spec.name = req.name;
  ASSIGN_OR_RETURN(spec.source, ConnInfo::Parse(req.source, "source"));
  if (store.Get(req.name).ok()) {
    return AlreadyExists("a migration named '" + req.name + "' already exists in " +
                         store.Location() + "; choose another name");
  }
  MigrationSpec live = spec;  // passwords read from their references, never stored
  RETURN_IF_ERROR(ResolvePasswords(live));
  ASSIGN_OR_RETURN(PgConnection source, PgConnection::Connect(live.source));
  ASSIGN_OR_RETURN(std::string super,
                   source.QueryValue("SELECT rolsuper::text FROM pg_roles WHERE rolname = "
                                     "current_user"));
  if (super != "true") {
    return PermissionDenied(spec.source.Label() + ": role '" + spec.source.Get("user") +
                            "' is not a superuser; pgshift needs a superuser on the source to "
                            "fence it (ALTER SYSTEM, pg_terminate_backend) and manage slots");
  }
  if (req.create_target_dir) {
    RETURN_IF_ERROR(CheckLocalTarget(spec, source, req));
  } else {
    RETURN_IF_ERROR(CheckExternalTarget(spec, source, req));
  }
  MigrationRecord record;
  record.name = spec.name;
  record.phase = Phase::kCreated;
  record.spec = spec.ToJson();
  RETURN_IF_ERROR(store.Create(record, clock.WallSeconds()));
  return spec;
}

}  // namespace pgshift
