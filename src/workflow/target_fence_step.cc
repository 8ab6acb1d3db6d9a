// Setting and lifting the target fence from the workflow's steps.
#include "workflow/target_fence_step.h"

#include "common/log.h"

namespace pgshift {
namespace {

Result<TargetFenceOptions> OptionsOf(MigrationContext& ctx, bool with_roles) {
  const MigrationSpec& s = ctx.spec();
  TargetFenceOptions o;
  o.orchestrator_user = s.target.Get("user").empty() ? "postgres" : s.target.Get("user");
  o.deadline = s.fence_deadline;
  o.fence_command = s.target_fence_command;
  o.unfence_command = s.target_unfence_command;
  o.own_backend_pids = ctx.OwnTargetPids();
  if (with_roles) {
    auto roles = ctx.router().BackendRoles();
    if (!roles.ok()) return roles.status().Context("the proxies' backend roles");
    o.admitted_roles = std::move(*roles);
  }
  return o;
}

}  // namespace

Status FenceTargetBeforePromotion(MigrationContext& ctx) {
  const MigrationSpec& s = ctx.spec();
  if (!ctx.facts().target_fenced) {
    RETURN_IF_ERROR(ctx.Record([](MigrationFacts& f) { f.target_fenced = true; }));
  }
  ASSIGN_OR_RETURN(PgConnection * target, ctx.Target());
  auto options = OptionsOf(ctx, /*with_roles=*/true);
  if (!options.ok())
    return FailedPrecondition(s.name + ": target fence: " + options.status().message());
  Status st = ctx.platform().FenceTarget(*target, *options, ctx.clock());
  if (!st.ok()) return FailedPrecondition(s.name + ": target fence: " + st.message());
  return Status::Ok();
}

Status LiftTargetFence(MigrationContext& ctx) {
  if (!ctx.facts().target_fenced) return Status::Ok();
  const MigrationSpec& s = ctx.spec();
  ASSIGN_OR_RETURN(PgConnection * target, ctx.Target());
  ASSIGN_OR_RETURN(TargetFenceOptions options, OptionsOf(ctx, /*with_roles=*/false));
  Status st = ctx.platform().UnfenceTarget(*target, options, /*keep_read_only=*/false);
  if (!st.ok()) {
    // A server that went away is retried by the engine; anything else names the cause.
    if (st.code() == Code::kUnavailable) return st;
    return FailedPrecondition(s.name + ": lift the target fence: " + st.message());
  }
  return ctx.Record([](MigrationFacts& f) { f.target_fenced = false; });
}

Status LiftTargetFenceForRollback(MigrationContext& ctx, bool keep_read_only) {
  if (!ctx.facts().target_fenced) return Status::Ok();
  const MigrationSpec& s = ctx.spec();
  auto target = ctx.Target();
  Status st = target.status();
  if (st.ok()) {
    ASSIGN_OR_RETURN(TargetFenceOptions options, OptionsOf(ctx, /*with_roles=*/false));
    st = ctx.platform().UnfenceTarget(**target, options, keep_read_only);
  }
  if (!st.ok()) {
    // The rollback goes on: the source is what serves. The fact stays, for the operator.
    spdlog::warn("{}: rollback: the target fence is still on {}: {}", s.name, s.target.Label(),
                 st.message());
    return Status::Ok();
  }
  return ctx.Record([](MigrationFacts& f) { f.target_fenced = false; });
}

}  // namespace pgshift
