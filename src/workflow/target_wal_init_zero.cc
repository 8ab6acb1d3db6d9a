// The target's wal_init_zero around the cutover (see platform/segment_boundary_promotion.h).
// The lift is recorded after it is made: a crash in between leaves the setting off on the
// target, which costs nothing but the operator's choice of zero-filled WAL segments; the
// record is what the restore trusts, so it never resets a value pgshift did not set.
#include "common/log.h"
#include "platform/segment_boundary_promotion.h"
#include "workflow/steps.h"

namespace pgshift {

void LiftTargetWalInitZero(MigrationContext& ctx) {
  if (ctx.data().value("wal_init_zero_lifted", false)) return;
  auto target = ctx.Target();
  if (!target.ok()) return;  // the step that needs the target reports it
  auto lifted = LiftWalInitZero(**target);
  if (!lifted.ok()) {
    spdlog::warn("{}: promotion will copy its partial WAL segment: {}", ctx.spec().name,
                 lifted.status().message());
    return;
  }
  if (*lifted) (void)ctx.Record({{"wal_init_zero_lifted", true}});
}

void RestoreTargetWalInitZero(MigrationContext& ctx) {
  if (!ctx.data().value("wal_init_zero_lifted", false)) return;
  auto target = ctx.Target();
  Status st = target.ok() ? RestoreWalInitZero(**target) : target.status();
  if (!st.ok()) {
    spdlog::warn(
        "{}: wal_init_zero is still off on the target; run ALTER SYSTEM RESET "
        "wal_init_zero there: {}",
        ctx.spec().name, st.message());
    return;
  }
  (void)ctx.Record({{"wal_init_zero_lifted", false}});
}

}  // namespace pgshift
