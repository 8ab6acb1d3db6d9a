// Replicate: the target becomes a streaming physical replica of the source.
//
//   1. (local) unless the target data directory exists, build it with pg_basebackup from the
//      source, as a storage snapshot would, showing bytes streamed and ETA;
//   2. (local) start it;
//   3. wait until the target is in recovery and streaming from the source.
// Assumes: the spec names a reachable source. Leaves: phase kValidating.
#include <atomic>
#include <filesystem>
#include <thread>

#include "platform/local_instance.h"
#include "workflow/steps.h"

namespace pgshift {
namespace {

// Shows pg_basebackup's progress as the source reports it.
class BasebackupProgress {
 public:
  BasebackupProgress(MigrationContext& ctx) : ctx_(ctx), thread_([this] { Loop(); }) {}
  ~BasebackupProgress() {
    stop_ = true;
    thread_.join();
  }

 private:
  void Loop() {
    auto conn = PgConnection::Connect(ctx_.spec().source.With("application_name", "pgshift"));
    auto t0 = std::chrono::steady_clock::now();
    while (!stop_ && conn.ok()) {
      auto r = conn->Query(
          "SELECT coalesce(backup_streamed, 0) AS done, "
          "coalesce(backup_total, 0) AS total FROM pg_stat_progress_basebackup");
      if (r.ok() && r->rows() > 0) {
        ProgressUpdate u{Phase::kReplicating, "pg_basebackup"};
        u.bytes_done = r->GetInt(0, "done");
        u.bytes_total = r->GetInt(0, "total");
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (*u.bytes_done > 0 && *u.bytes_total > *u.bytes_done) {
          u.eta_seconds = secs * (*u.bytes_total - *u.bytes_done) / *u.bytes_done;
        }
        ctx_.progress().Update(u);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }
  MigrationContext& ctx_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

Status BuildLocalTarget(MigrationContext& ctx) {
  const MigrationSpec& s = ctx.spec();
  // pg_basebackup writes PG_VERSION first and global/pg_control last (then -R's
  // standby.signal): a directory without both is half-copied (its runner was killed), and is
  // removed and copied again. The replicate step runs only before the promotion, so a whole
  // replica still has its standby.signal.
  if (!std::filesystem::exists(s.target_dir + "/global/pg_control") ||
      !std::filesystem::exists(s.target_dir + "/standby.signal")) {
    std::error_code ec;
    std::filesystem::remove_all(s.target_dir, ec);
    LocalInstanceSpec spec;
    spec.data_dir = s.target_dir;
    spec.port = s.target_port;
    spec.superuser_password = s.source.Get("password");
    BasebackupProgress progress(ctx);
    auto built = LocalInstance::CreateReplica(s.source, spec);
    if (!built.ok()) return built.status().Context("replicate");
  }
  ASSIGN_OR_RETURN(LocalInstance inst,
                   LocalInstance::Attach(s.target_dir, s.source.Get("password")));
  return inst.Start();
}

Status WaitForStreaming(MigrationContext& ctx) {
  Deadline deadline(ctx.clock(), std::chrono::minutes(2));
  Status last;
  while (!deadline.Expired()) {
    auto t = ctx.Target();
    if (t.ok()) {
      auto r = (*t)->Query(
          "SELECT pg_is_in_recovery() AS rec, (SELECT status FROM pg_stat_wal_receiver) AS st");
      if (r.ok() && r->GetBool(0, "rec") && r->Get(0, "st") == "streaming") return Status::Ok();
      if (r.ok() && !r->GetBool(0, "rec")) {
        return FailedPrecondition(ctx.spec().target.Label() +
                                  " is not in recovery: it is a primary, not a replica of the "
                                  "source; give a streaming physical replica as --target");
      }
      last = r.ok() ? Unavailable("target is not streaming yet") : r.status();
    } else {
      last = t.status();
    }
    ctx.progress().Update({Phase::kReplicating, "waiting for the target to stream"});
    ctx.clock().SleepFor(std::chrono::milliseconds(200));
  }
  return Unavailable("replicate: target not streaming within 2 minutes: " + last.message());
}

}  // namespace

Endpoint EndpointOf(const ConnInfo& c) {
  std::string host = c.Get("host").empty() ? "127.0.0.1" : c.Get("host");
  int port = c.Get("port").empty() ? 5432 : std::stoi(c.Get("port"));
  return {host, port};
}

Result<StepOutcome> RunReplicate(MigrationContext& ctx) {
  if (ctx.phase() == Phase::kCreated) {
    RETURN_IF_ERROR(ctx.Transition(Phase::kCreated, Phase::kReplicating,
                                   ctx.spec().platform == "local"
                                       ? "building the target with pg_basebackup"
                                       : "attaching to the operator's replica"));
  }
  if (ctx.spec().platform == "local") RETURN_IF_ERROR(BuildLocalTarget(ctx));
  RETURN_IF_ERROR(WaitForStreaming(ctx));
  RETURN_IF_ERROR(
      ctx.Transition(Phase::kReplicating, Phase::kValidating, "target is a streaming replica"));
  return StepOutcome::kMoved;
}

}  // namespace pgshift
