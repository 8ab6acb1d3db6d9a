// The external platform: clusters pgshift reaches only over SQL. New connections are kept out by
// the operator's own fence command (a security-group change, a firewall rule), if configured.
#include <memory>

#include "common/process.h"
#include "platform/platform.h"
#include "platform/promotion.h"
#include "platform/source_fence.h"

namespace pgshift {
namespace {

constexpr size_t kMaxOutputInError = 500;

// Runs an operator command through sh -c; its own output explains a failure.
Status RunOperatorCommand(const std::string& what, const std::string& command,
                          std::chrono::milliseconds timeout) {
  ProcessOptions o;
  o.timeout = timeout;
  ASSIGN_OR_RETURN(CommandOutput out, RunCommand({"/bin/sh", "-c", command}, o));
  if (out.exit_code != 0) {
    std::string tail = out.output.size() > kMaxOutputInError
                           ? out.output.substr(out.output.size() - kMaxOutputInError)
                           : out.output;
    return FailedPrecondition(what + " exited with " + std::to_string(out.exit_code) +
                              "; fix the command or the platform, then retry. Its output: " + tail);
  }
  return Status::Ok();
}

class CommandBlock : public ConnectionBlock {
 public:
  explicit CommandBlock(const FenceOptions& options) : options_(options) {}
  std::string name() const override { return "block_connections:fence_command"; }
  bool configured() const override { return options_.fence_command.has_value(); }
  Status Block(const FenceOptions& options, const Deadline& deadline) override {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline.Remaining());
    return RunOperatorCommand("fence_command", *options.fence_command,
                              std::max(left, std::chrono::milliseconds(1)));
  }
  Status Unblock(const FenceOptions& options) override {
    if (!options.unfence_command) return Status::Ok();
    return RunOperatorCommand("unfence_command", *options.unfence_command, std::chrono::minutes(5));
  }

 private:
  const FenceOptions& options_;
};

class ExternalPlatform : public Platform {
 public:
  std::string_view kind() const override { return "external"; }

  Result<FenceReport> Fence(PgConnection& node, const FenceOptions& options,
                            Clock& clock) override {
    CommandBlock block(options);
    return RunFence(node, options, block, clock);
  }

  Status Unfence(PgConnection& node, const FenceOptions& options) override {
    // The unfence command runs even without a fence command: after a crash we cannot know
    // what the operator's fence left behind, and unfencing must be safe to repeat.
    RETURN_IF_ERROR(RunUnfenceSql(node, options));
    if (options.unfence_command) {
      return RunOperatorCommand("unfence_command", *options.unfence_command,
                                std::chrono::minutes(5));
    }
    return Status::Ok();
  }

  Result<std::chrono::milliseconds> Promote(PgConnection& node, std::chrono::milliseconds timeout,
                                            Clock& clock) override {
    return PromoteAndWait(node, timeout, clock);
  }

  bool CanRewind() const override { return false; }

  // The operator's target fence command (if any) first: it keeps new connections out, then
  // the SQL layers stop those already in.
  Status FenceTarget(PgConnection& target, const TargetFenceOptions& options,
                     Clock& clock) override {
    if (options.fence_command) {
      RETURN_IF_ERROR(
          RunOperatorCommand("target_fence_command", *options.fence_command, options.deadline));
    }
    return ApplyTargetReadOnly(target, options, clock);
  }

  // The unfence command runs even without a fence command, as for the source: after a crash
  // pgshift cannot know what the operator's command left behind.
  Status UnfenceTarget(PgConnection& target, const TargetFenceOptions& options,
                       bool keep_read_only) override {
    RETURN_IF_ERROR(LiftTargetReadOnly(target, keep_read_only));
    if (options.unfence_command) {
      return RunOperatorCommand("target_unfence_command", *options.unfence_command,
                                std::chrono::minutes(5));
    }
    return Status::Ok();
  }

  Status RewindToFollow(const ConnInfo& primary, Clock&) override {
    return FailedPrecondition(
        "the external platform cannot make the old source follow " + primary.Label() +
        ": pgshift has no access to its data directory. Rebuild the old source as a replica of "
        "the target with the provider's tooling, or roll back without keeping the target's "
        "writes");
  }

 private:
  static Status RunUnfenceSql(PgConnection& source, const FenceOptions& options) {
    FenceOptions sql_only = options;
    sql_only.fence_command.reset();
    CommandBlock none(sql_only);  // not configured: RunUnfence skips the block layer
    return RunUnfence(source, sql_only, none, Clock::Real());
  }
};

}  // namespace

std::unique_ptr<Platform> MakeExternalPlatform() { return std::make_unique<ExternalPlatform>(); }

}  // namespace pgshift
