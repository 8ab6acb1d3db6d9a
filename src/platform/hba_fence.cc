// pg_hba.conf rewriting for the local fence, and its crash-safe save / restore.
#include "platform/hba_fence.h"

#include <cctype>
#include <filesystem>
#include <sstream>
#include <vector>

#include "platform/data_dir_files.h"
#include "platform/local_instance.h"

namespace fs = std::filesystem;

namespace pgshift {
namespace {

std::vector<std::string> SplitFields(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string f;
  while (in >> f) out.push_back(f);
  return out;
}

std::vector<std::string> SplitList(const std::string& field) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : field) {
    if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

// A role name as pg_hba.conf spells it: bare when lower-case identifier, else double-quoted.
Result<std::string> HbaRole(const std::string& role) {
  if (role.empty()) {
    return InvalidArgument("fence: orchestrator_user is empty; name the role pgshift connects as");
  }
  bool bare = true;
  for (char c : role) {
    if (c == '"' || c == '\n' || c == '\r' || c == '#') {
      return InvalidArgument("fence: orchestrator_user '" + role +
                             "' contains a character pg_hba.conf cannot express");
    }
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_')) {
      bare = false;
    }
  }
  if (role == "all" || role == "sameuser" || role == "samerole" || role == "replication") {
    bare = false;  // keywords unless quoted
  }
  return bare ? role : "\"" + role + "\"";
}

// Rebuilds one entry with other database / user fields, keeping the rest of the line.
std::string WithFields(const std::vector<std::string>& f, const std::string& db,
                       const std::string& user) {
  std::string out = f[0] + " " + db + " " + user;
  for (size_t i = 3; i < f.size(); ++i) out += " " + f[i];
  return out;
}

// pg_ctl's words when no postmaster runs for the data directory: no PID file ("Is server
// running?"), or a stale one whose process is gone ("could not send reload signal").
bool SaysServerNotRunning(const std::string& pg_ctl_output) {
  return pg_ctl_output.find("Is server running?") != std::string::npos ||
         pg_ctl_output.find("does not exist") != std::string::npos ||
         pg_ctl_output.find("could not send reload signal") != std::string::npos;
}

bool IsEntryType(const std::string& t) {
  return t == "local" || t == "host" || t == "hostssl" || t == "hostnossl" || t == "hostgssenc" ||
         t == "hostnogssenc";
}

}  // namespace

Result<std::string> FencedHba(const std::string& original, const std::string& orchestrator_user) {
  return FencedHba(original, std::vector<std::string>{orchestrator_user});
}

Result<std::string> FencedHba(const std::string& original, const std::vector<std::string>& roles) {
  std::vector<std::pair<std::string, std::string>> admitted;  // as given, as pg_hba spells it
  for (const auto& r : roles) {
    ASSIGN_OR_RETURN(std::string spelled, HbaRole(r));
    admitted.emplace_back(r, spelled);
  }
  std::string out =
      std::string(kHbaFenceMarker) +
      (roles.size() == 1 ? " only replication and the orchestrator role may connect.\n"
                         : " only replication and the roles pgshift admits may "
                           "connect.\n") +
      "# The original is in " + kHbaBackupName +
      "; pgshift puts it back when it unfences or rolls back.\n";
  std::istringstream in(original);
  std::string line;
  while (std::getline(in, line)) {
    std::string entry = line.substr(0, line.find('#'));
    std::vector<std::string> f = SplitFields(entry);
    if (f.size() < 4 || !IsEntryType(f[0])) continue;
    std::vector<std::string> repl;
    std::vector<std::string> other;
    for (const auto& db : SplitList(f[1])) (db == "replication" ? repl : other).push_back(db);
    if (!repl.empty()) out += WithFields(f, JoinList(repl), f[2]) + "\n";
    if (other.empty()) continue;
    std::vector<std::string> kept;
    for (const auto& [role, spelled] : admitted) {
      for (const auto& u : SplitList(f[2])) {
        if (u == "all" || u == spelled || u == role) {
          kept.push_back(spelled);
          break;
        }
      }
    }
    if (!kept.empty()) out += WithFields(f, JoinList(other), JoinList(kept)) + "\n";
  }
  out += "host all all all reject\nlocal all all reject\n";
  return out;
}

bool HbaFence::Applied() const { return fs::exists(backup_path()); }

// A server that is not running (stopped, crashed, being restarted) is kUnavailable: the file
// is already written and takes effect when it starts, and the engine retries the reload once
// it is back. Any other failure of pg_ctl stays what it was.
Status HbaFence::Reload() const {
  ASSIGN_OR_RETURN(LocalInstance inst, LocalInstance::Attach(data_dir_, password_));
  Status reloaded = inst.Reload();
  if (reloaded.ok() || reloaded.code() == Code::kUnavailable) return reloaded;
  if (SaysServerNotRunning(reloaded.message()) || !inst.Running()) {
    return Unavailable(data_dir_ + ": the server is not running: " + reloaded.message());
  }
  return reloaded;
}

Status HbaFence::Apply(const std::string& orchestrator_user, bool reload) {
  return Apply(std::vector<std::string>{orchestrator_user}, reload);
}

Status HbaFence::Apply(const std::vector<std::string>& roles, bool reload) {
  std::string original;
  if (Applied()) {
    ASSIGN_OR_RETURN(original, ReadTextFile(backup_path()));
  } else {
    ASSIGN_OR_RETURN(original, ReadTextFile(hba_path()));
    if (original.rfind(kHbaFenceMarker, 0) == 0) {
      return FailedPrecondition(hba_path() + " is a pgshift fence but " + backup_path() +
                                " (the original) is missing; restore pg_hba.conf by hand");
    }
    RETURN_IF_ERROR(WriteDataDirFile(backup_path(), original));
  }
  ASSIGN_OR_RETURN(std::string fenced, FencedHba(original, roles));
  RETURN_IF_ERROR(WriteDataDirFile(hba_path(), fenced));
  if (!reload) return Status::Ok();
  return Reload().Context("fence pg_hba.conf");
}

Status HbaFence::Lift() {
  if (!Applied()) {
    ASSIGN_OR_RETURN(std::string current, ReadTextFile(hba_path()));
    if (current.rfind(kHbaFenceMarker, 0) == 0) {
      return FailedPrecondition(hba_path() + " is a pgshift fence but " + backup_path() +
                                " (the original) is missing; restore pg_hba.conf by hand");
    }
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(std::string original, ReadTextFile(backup_path()));
  RETURN_IF_ERROR(WriteDataDirFile(hba_path(), original));
  RETURN_IF_ERROR(Reload().Context("unfence pg_hba.conf"));
  std::error_code ec;
  fs::remove(backup_path(), ec);
  if (ec) return Unavailable("cannot remove " + backup_path() + ": " + ec.message());
  return Status::Ok();
}

}  // namespace pgshift
