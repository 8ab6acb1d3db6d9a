// The local platform: both clusters are LocalInstances on this host, so the fence can edit the
// source's pg_hba.conf and rollback can pg_rewind the old source.
#include <memory>

#include "platform/hba_fence.h"
#include "platform/local_instance.h"
#include "platform/platform.h"
#include "platform/promotion.h"
#include "platform/source_fence.h"
#include "platform/source_rewind.h"

namespace pgshift {
namespace {

class HbaBlock : public ConnectionBlock {
 public:
  explicit HbaBlock(HbaFence& fence) : fence_(fence) {}
  std::string name() const override { return "block_connections:pg_hba"; }
  bool configured() const override { return true; }
  // In force at the reload RunFence issues next for the read-only layer.
  Status Block(const FenceOptions& options, const Deadline&) override {
    return fence_.Apply(options.orchestrator_user, /*reload=*/false);
  }
  Status Unblock(const FenceOptions&) override { return fence_.Lift(); }

 private:
  HbaFence& fence_;
};

class LocalPlatform : public Platform {
 public:
  LocalPlatform(std::string source_dir, std::string target_dir, std::string password)
      : source_dir_(std::move(source_dir)),
        target_dir_(std::move(target_dir)),
        password_(std::move(password)),
        hba_(source_dir_, password_),
        target_hba_(target_dir_, password_) {}

  std::string_view kind() const override { return "local"; }

  Result<FenceReport> Fence(PgConnection& node, const FenceOptions& options,
                            Clock& clock) override {
    RETURN_IF_ERROR(CheckIsSource(node));
    HbaBlock block(hba_);
    return RunFence(node, options, block, clock);
  }

  Status Unfence(PgConnection& node, const FenceOptions& options) override {
    RETURN_IF_ERROR(CheckIsSource(node));
    HbaBlock block(hba_);
    return RunUnfence(node, options, block, Clock::Real());
  }

  Result<std::chrono::milliseconds> Promote(PgConnection& node, std::chrono::milliseconds timeout,
                                            Clock& clock) override {
    return PromoteAndWait(node, timeout, clock);
  }

  bool CanRewind() const override { return true; }

  Status RewindToFollow(const ConnInfo& primary, Clock& clock) override {
    RewindRequest req;
    req.source_data_dir = source_dir_;
    req.superuser_password = password_;
    req.target = primary;
    req.target_data_dir = target_dir_;
    return RewindSourceToFollow(req, clock);
  }

  // pg_hba.conf of the target's data directory (no reload: ApplyTargetReadOnly's reload puts
  // both in force), then the SQL layers.
  Status FenceTarget(PgConnection& target, const TargetFenceOptions& options,
                     Clock& clock) override {
    RETURN_IF_ERROR(CheckIsDataDirOf(target, target_dir_, "target"));
    std::vector<std::string> roles{options.orchestrator_user};
    for (const auto& r : options.admitted_roles) {
      if (r != options.orchestrator_user) roles.push_back(r);
    }
    RETURN_IF_ERROR(target_hba_.Apply(roles, /*reload=*/false).Context("target fence"));
    return ApplyTargetReadOnly(target, options, clock);
  }

  // Read-only off first, then connections let back in (as the source's unfence).
  Status UnfenceTarget(PgConnection& target, const TargetFenceOptions&,
                       bool keep_read_only) override {
    RETURN_IF_ERROR(CheckIsDataDirOf(target, target_dir_, "target"));
    RETURN_IF_ERROR(LiftTargetReadOnly(target, keep_read_only));
    return target_hba_.Lift();
  }

 private:
  // pg_hba.conf is edited by path: make sure the connection is to the server that reads it.
  Status CheckIsSource(PgConnection& source) {
    return CheckIsDataDirOf(source, source_dir_, "source");
  }
  Status CheckIsDataDirOf(PgConnection& node, const std::string& dir, const std::string& role) {
    ASSIGN_OR_RETURN(LocalInstance inst, LocalInstance::Attach(dir, password_));
    ASSIGN_OR_RETURN(std::string port, node.QueryValue("SHOW port"));
    if (port != std::to_string(inst.port())) {
      return InvalidArgument("local platform: the " + role + " connection " + node.info().Label() +
                             " is to port " + port + " but " + dir + " is configured for port " +
                             std::to_string(inst.port()) +
                             "; pass the data directory of the server you connect to");
    }
    return Status::Ok();
  }

  std::string source_dir_;
  std::string target_dir_;  // its sockets are moved aside while pg_rewind reads it
  std::string password_;
  HbaFence hba_;
  HbaFence target_hba_;  // the target fence's pg_hba layer
};

}  // namespace

std::unique_ptr<Platform> MakeLocalPlatform(std::string source_data_dir,
                                            std::string target_data_dir,
                                            std::string superuser_password) {
  return std::make_unique<LocalPlatform>(std::move(source_data_dir), std::move(target_data_dir),
                                         std::move(superuser_password));
}

}  // namespace pgshift
