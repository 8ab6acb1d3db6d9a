// Workflow versions: which step table a migration started under, and whether this pgshift may
// continue it.
//
// The step table is what engine.cc dispatches on (the step run in each phase) together with
// what each step records in the facts and expects to find there. A pgshift whose table changes
// in a way a migration in flight would notice (a phase split in two, a fact read differently,
// a step that expects an earlier step to have done more) bumps kWorkflowVersion and adds a row
// to the compatibility table: from which older version a migration may be continued, and if
// not, why. Several servers of different releases share one PostgreSQL store during a rolling
// upgrade; a migration started by an older one is taken over by a newer one only when the
// table says so, and refused with the row's reason otherwise (the migration is left as it is,
// for a server of its own version). A version newer than this build's is always refused.
//
// The engine records the version in the facts (workflow_version) on its first turn; a record
// without one was started before versions were recorded, under version 1.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace pgshift {

// The step table of this build.
inline constexpr int kWorkflowVersion = 1;
// What a migration whose facts record no version started under.
inline constexpr int kUnrecordedWorkflowVersion = 1;

// One row: may an engine of version `running` continue a migration started under
// `started_under`? `reason` says why not (or what changed, when it may).
struct WorkflowCompatibility {
  int started_under = 0;
  int running = 0;
  bool compatible = false;
  std::string reason;
};

// This build's table (every older version this build knows about).
const std::vector<WorkflowCompatibility>& WorkflowCompatibilityTable();

// Ok when an engine of version `running` may continue `migration`, started under
// `started_under`, according to `table` (the same version always may). Otherwise
// kFailedPrecondition naming the migration, both versions and the reason.
Status CheckWorkflowVersion(const std::string& migration, int started_under, int running,
                            const std::vector<WorkflowCompatibility>& table);

}  // namespace pgshift
