// The rewound old source catching up with the promoted target, in a rollback after promotion
// that keeps the target's writes. Not part of any held window (traffic is paused, but the
// applications were told the migration is rolling back), so it is bounded by progress, not by
// the cutover's drain timeout: it waits while replay advances, and gives up only when replay
// made no progress for a stall bound, or past a generous overall bound. The chaos campaign saw
// the drain timeout (10 s) cut off a catch-up that a re-run then finished (docs/chaos.md,
// finding 6).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "common/clock.h"
#include "common/status.h"
#include "pg/connection.h"
#include "pg/lsn.h"

namespace pgshift {

struct CatchUpBounds {
  std::chrono::milliseconds stall{std::chrono::seconds(60)};    // no replay progress this long
  std::chrono::milliseconds overall{std::chrono::minutes(30)};  // whatever the progress
  std::chrono::milliseconds report_every{std::chrono::seconds(1)};
};

struct CatchUpProgress {
  Lsn replayed;
  Lsn goal;
  uint64_t bytes_left = 0;
  uint64_t bytes_total = 0;     // from where replay stood when the wait began
  double bytes_per_second = 0;  // replayed since the wait began, over its elapsed time
  std::chrono::milliseconds elapsed{0};
};

// Polls the follower's replay position (ReplayLsn) until it reaches `goal`, calling `report`
// (if set) at the start, every `report_every` and at the end. kDeadlineExceeded when replay
// stalled for `stall` or `overall` passed, naming both LSNs, the bytes left, the bytes replayed
// and the rate.
Status WaitForCatchUp(PgConnection& follower, Lsn goal, const CatchUpBounds& bounds, Clock& clock,
                      const std::function<void(const CatchUpProgress&)>& report = {});

}  // namespace pgshift
