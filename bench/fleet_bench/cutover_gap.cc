// CutoverGap: the cutover window's commit gap from the ledger rows (see cutover_gap.h).
#include "cutover_gap.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "demo/commit_checker.h"
#include "migration/phase.h"
#include "pg/connection.h"

namespace pgshift::bench {

Result<CutoverWindow> CutoverWindowFromEvents(const std::string& events_json, double margin_s) {
  auto events = nlohmann::json::parse(events_json, nullptr, false);
  if (!events.is_array()) return InvalidArgument("events: not a JSON array: " + events_json);
  CutoverWindow w;
  for (const auto& e : events) {
    if (!e.is_array() || e.size() != 2 || !e[0].is_number() || !e[1].is_number()) continue;
    Phase p;
    if (!ParsePhaseValue(e[0].get<int>(), &p)) continue;
    const std::string name(PhaseName(p));
    const double at = e[1].get<double>();
    if (name == "pausing" && w.from_s == 0) w.from_s = at - margin_s;
    if (w.from_s != 0 && w.until_s == 0 &&
        (name == "verifying" || name == "completed" || name == "rolling_back" ||
         name == "rolled_back" || name == "failed")) {
      w.until_s = at + margin_s;
    }
  }
  if (w.from_s == 0) return NotFound("the migration never entered pausing");
  if (w.until_s == 0) return NotFound("the migration never left its cutover");
  return w;
}

Result<double> LedgerGapInWindow(const ConnInfo& primary, const CutoverWindow& window) {
  ASSIGN_OR_RETURN(PgConnection c, PgConnection::Connect(primary));
  ASSIGN_OR_RETURN(
      std::string v,
      c.QueryValue(fmt::format(
          "SELECT coalesce(max(gap), 0) FROM (SELECT extract(epoch FROM at - lag(at) OVER "
          "(ORDER BY at)) * 1000 AS gap FROM {} WHERE at BETWEEN to_timestamp({:.6f}) AND "
          "to_timestamp({:.6f})) g",
          demo::kLedgerTable, window.from_s, window.until_s)));
  return std::atof(v.c_str());
}

}  // namespace pgshift::bench
