// The compatibility table and the one decision made from it.
#include "workflow/workflow_version.h"

namespace pgshift {

const std::vector<WorkflowCompatibility>& WorkflowCompatibilityTable() {
  // Version 1 is the first recorded version: nothing older to continue yet.
  static const std::vector<WorkflowCompatibility> table = {};
  return table;
}

Status CheckWorkflowVersion(const std::string& migration, int started_under, int running,
                            const std::vector<WorkflowCompatibility>& table) {
  if (started_under == running) return Status::Ok();
  const std::string versions = "migration '" + migration + "' started under workflow version " +
                               std::to_string(started_under) +
                               " and this pgshift runs workflow version " + std::to_string(running);
  if (started_under > running) {
    return FailedPrecondition(versions +
                              ": it was started by a newer pgshift, whose steps this one does not "
                              "know; let a server of version " +
                              std::to_string(started_under) +
                              " or later drive it (nothing was changed)");
  }
  for (const WorkflowCompatibility& row : table) {
    if (row.started_under != started_under || row.running != running) continue;
    if (row.compatible) return Status::Ok();
    return FailedPrecondition(versions + ", which cannot continue it: " + row.reason +
                              "; finish or roll it back with a pgshift of workflow version " +
                              std::to_string(started_under) + " (nothing was changed)");
  }
  return FailedPrecondition(versions +
                            ", which records no compatibility with that version; finish or roll "
                            "it back with a pgshift of workflow version " +
                            std::to_string(started_under) + " (nothing was changed)");
}

}  // namespace pgshift
