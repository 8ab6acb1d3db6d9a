// pg_rewind of the old source onto the promoted target, run as the postgres user.
#include "platform/source_rewind.h"

#include <charconv>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <sstream>

#include "common/log.h"
#include "common/process.h"
#include "pg/connection.h"
#include "platform/config_snapshot.h"
#include "platform/data_dir_files.h"
#include "platform/hba_fence.h"
#include "platform/local_instance.h"
#include "platform/replication_status.h"
#include "platform/socket_aside.h"

namespace fs = std::filesystem;

namespace pgshift {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(10);

// A value for a postgresql.conf-style file: single-quoted, quotes doubled, backslashes escaped.
std::string ConfQuote(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'')
      out += "''";
    else if (c == '\\')
      out += "\\\\";
    else
      out.push_back(c);
  }
  return out + "'";
}

bool SetsParameter(const std::string& line, const std::string& name) {
  size_t i = line.find_first_not_of(" \t");
  return i != std::string::npos && line.compare(i, name.size(), name) == 0 &&
         line.find_first_not_of(" \t=", i + name.size()) != i + name.size();
}

// The timeline the target writes on now: the first 8 hex digits of its current WAL file's
// name (its control file may still name the previous one just after a promotion, see below).
Result<uint32_t> CurrentTimeline(const ConnInfo& target) {
  ASSIGN_OR_RETURN(PgConnection conn, PgConnection::Connect(target));
  ASSIGN_OR_RETURN(std::string walfile,
                   conn.QueryValue("SELECT pg_walfile_name(pg_current_wal_lsn())"));
  uint32_t timeline = 0;
  if (walfile.size() < 8 ||
      std::from_chars(walfile.data(), walfile.data() + 8, timeline, 16).ptr != walfile.data() + 8) {
    return Internal(target.Label() + ": unexpected WAL file name '" + walfile + "'");
  }
  return timeline;
}

// Is the source a standby streaming from the target, on the target's timeline? (The
// idempotent fast path, and the end of the wait.) Streaming the old timeline up to the fork is
// not following: a source rewound too little streams that much, then waits forever.
Result<bool> StreamsFrom(LocalInstance& source, const ConnInfo& target) {
  if (!source.Running()) return false;
  auto conn = PgConnection::Connect(source.Conn());
  if (!conn.ok()) return false;  // starting up or shutting down: not (yet) following
  ASSIGN_OR_RETURN(PgResult r, conn->Query("SELECT status, sender_port, received_tli "
                                           "FROM pg_stat_wal_receiver"));
  if (r.rows() == 0) return false;
  std::string want_port = target.Get("port").empty() ? "5432" : target.Get("port");
  if (r.Get(0, "status") != "streaming" || r.Get(0, "sender_port") != want_port) return false;
  ASSIGN_OR_RETURN(uint32_t timeline, CurrentTimeline(target));
  return r.Get(0, "received_tli") == std::to_string(timeline);
}

// The target must be promoted, and its control file must say so before pg_rewind reads it.
// PostgreSQL 15 promotes without waiting for the end-of-recovery checkpoint (it is requested,
// and spread like any other), and until it completes pg_control still names the old timeline:
// pg_rewind 15 then finds both servers "on the same timeline", rewinds nothing, and the old
// source, whose shutdown checkpoint lies past the fork, can never follow the new timeline. An
// immediate CHECKPOINT on the target settles pg_control first.
Status PrepareTargetAsRewindSource(const ConnInfo& target) {
  ASSIGN_OR_RETURN(PgConnection conn, PgConnection::Connect(target));
  ASSIGN_OR_RETURN(bool recovering, InRecovery(conn));
  if (recovering) {
    return FailedPrecondition(target.Label() +
                              " is still a standby; the old source can follow it only after "
                              "it has been promoted (otherwise just unfence the source)");
  }
  Status checkpoint = conn.Exec("CHECKPOINT");
  if (!checkpoint.ok()) {
    return Status(checkpoint.code(), target.Label() +
                                         ": CHECKPOINT before pg_rewind (so that its control "
                                         "file names the new timeline): " +
                                         checkpoint.message());
  }
  return Status::Ok();
}

Status RunPgRewind(const std::string& data_dir, const ConnInfo& target) {
  ProcessOptions o;
  o.run_as = "postgres";
  o.cwd = "/tmp";
  o.env["LC_ALL"] = "C.UTF-8";
  o.timeout = std::chrono::minutes(30);
  // The password travels in the environment, never on a command line others can read.
  if (!target.Get("password").empty()) o.env["PGPASSWORD"] = target.Get("password");
  ASSIGN_OR_RETURN(CommandOutput out, RunCommand({LocalInstance::BinDir() + "/pg_rewind", "-D",
                                                  data_dir, "--source-server=" + target.Redacted()},
                                                 o));
  if (out.exit_code != 0) {
    return FailedPrecondition("pg_rewind of " + data_dir + " from " + target.Label() +
                              " failed (exit " + std::to_string(out.exit_code) +
                              "): " + out.output);
  }
  return Status::Ok();
}

// pg_rewind copied the target's socket lock files (.s.PGSQL.<port>.lock); they are not ours.
void RemoveCopiedSocketLocks(const std::string& data_dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(data_dir, ec)) {
    if (entry.path().filename().string().rfind(".s.PGSQL.", 0) == 0) fs::remove(entry.path(), ec);
  }
}

// The source's own configuration back, without the fence, pointed at the target.
Status ConfigureAsFollower(const std::string& data_dir, const ConfigSnapshot& snapshot,
                           const ConnInfo& target) {
  RETURN_IF_ERROR(snapshot.Restore());
  std::error_code ec;
  fs::remove(data_dir + "/" + kHbaBackupName, ec);  // the restored pg_hba.conf is the original
  // A source that was fenced comes back fenced (pg_hba and read-only): once promoted it must
  // take no client's write before its logical slots are recreated, or those commits reach no
  // CDC consumer (chaos: a writer straight to the source's address in a rollback keeping the
  // target's writes). The rollback unfences it after the slots exist, as the forward path
  // lifts the target's fence.
  RETURN_IF_ERROR(snapshot.RestoreHbaFence());
  std::string auto_conf_path = data_dir + "/postgresql.auto.conf";
  std::string auto_conf;
  if (fs::exists(auto_conf_path)) {
    ASSIGN_OR_RETURN(auto_conf, ReadTextFile(auto_conf_path));
  }
  std::string follower = FollowerAutoConf(auto_conf, target.raw());
  if (snapshot.WasFenced()) follower += "default_transaction_read_only = 'on'\n";
  RETURN_IF_ERROR(WriteDataDirFile(auto_conf_path, follower));
  return WriteDataDirFile(data_dir + "/standby.signal", "");
}

Status WaitStreaming(LocalInstance& source, const ConnInfo& target,
                     std::chrono::milliseconds timeout, Clock& clock) {
  Deadline deadline(clock, timeout);
  while (true) {
    auto streaming = StreamsFrom(source, target);
    if (streaming.ok() && *streaming) return Status::Ok();
    if (deadline.Expired()) {
      return DeadlineExceeded("rewound source " + source.data_dir() + " does not stream from " +
                              target.Label() + " after " + std::to_string(timeout.count()) +
                              " ms; see " + source.data_dir() + "/server.log");
    }
    clock.SleepFor(kPollInterval);
  }
}

}  // namespace

std::string FollowerAutoConf(const std::string& auto_conf, const std::string& primary_conninfo) {
  std::istringstream in(auto_conf);
  std::string out;
  std::string line;
  while (std::getline(in, line)) {
    if (SetsParameter(line, "default_transaction_read_only")) continue;
    if (SetsParameter(line, "primary_conninfo")) continue;
    out += line + "\n";
  }
  return out + "primary_conninfo = " + ConfQuote(primary_conninfo) + "\n";
}

Status RewindSourceToFollow(const RewindRequest& request, Clock& clock) {
  ASSIGN_OR_RETURN(LocalInstance source,
                   LocalInstance::Attach(request.source_data_dir, request.superuser_password));
  ConfigSnapshot snapshot(request.source_data_dir);
  ASSIGN_OR_RETURN(bool following, StreamsFrom(source, request.target));
  if (following) return snapshot.Discard();
  RETURN_IF_ERROR(PrepareTargetAsRewindSource(request.target));

  RETURN_IF_ERROR(snapshot.Save());
  // pg_rewind needs the source shut down cleanly.
  RETURN_IF_ERROR(source.Stop(/*immediate=*/false));
  if (!snapshot.Rewound()) {
    std::optional<SocketAside> sockets;
    if (!request.target_data_dir.empty()) {
      ASSIGN_OR_RETURN(SocketAside moved, SocketAside::MoveOut(request.target_data_dir));
      sockets.emplace(std::move(moved));
    }
    RETURN_IF_ERROR(RunPgRewind(request.source_data_dir, request.target));
    if (sockets) RETURN_IF_ERROR(sockets->MoveBack());
    RemoveCopiedSocketLocks(request.source_data_dir);
    RETURN_IF_ERROR(snapshot.MarkRewound());
  }
  RETURN_IF_ERROR(ConfigureAsFollower(request.source_data_dir, snapshot, request.target));
  RETURN_IF_ERROR(source.Start());
  RETURN_IF_ERROR(WaitStreaming(source, request.target, request.stream_timeout, clock));
  spdlog::info("old source {} now streams from {}", request.source_data_dir,
               request.target.Label());
  return snapshot.Discard();
}

}  // namespace pgshift
