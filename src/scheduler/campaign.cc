// Campaign definitions: parsing a request, waves, the stored document, operator commands.
#include "scheduler/campaign.h"

#include <algorithm>
#include <cmath>
#include <regex>
#include <set>

namespace pgshift::scheduler {
namespace {

const char* kStateNames[] = {"running", "paused", "halted", "cancelled", "completed"};

bool ParseState(const std::string& s, CampaignState* out) {
  for (int i = 0; i < 5; ++i) {
    if (s == kStateNames[i]) {
      *out = static_cast<CampaignState>(i);
      return true;
    }
  }
  return false;
}

Result<HaltPolicy> ParseHalt(const nlohmann::json& j) {
  HaltPolicy h;
  if (j.is_null() || (j.is_string() && j == "first_failure")) return h;
  if (!j.is_object()) {
    return InvalidArgument(
        "halt: \"first_failure\", {\"failures\": N} or {\"rate\": R, \"min_finished\": M}");
  }
  if (j.contains("failures")) {
    if (!j["failures"].is_number_integer() || j["failures"].get<int>() < 1) {
      return InvalidArgument("halt.failures: a whole number of at least 1");
    }
    h.kind = HaltPolicy::Kind::kFailures;
    h.failures = j["failures"];
    return h;
  }
  if (j.contains("rate")) {
    if (!j["rate"].is_number() || j["rate"].get<double>() <= 0 || j["rate"].get<double>() > 1) {
      return InvalidArgument("halt.rate: a fraction above 0 and at most 1");
    }
    h.kind = HaltPolicy::Kind::kRate;
    h.rate = j["rate"];
    if (j.contains("min_finished")) {
      if (!j["min_finished"].is_number_integer() || j["min_finished"].get<int>() < 1) {
        return InvalidArgument("halt.min_finished: a whole number of at least 1");
      }
      h.min_finished = j["min_finished"];
    }
    return h;
  }
  if (j.value("on", "") == "first_failure") return h;
  return InvalidArgument("halt: expected \"failures\" or \"rate\"");
}

Result<std::vector<int>> ParseWaves(const nlohmann::json& j) {
  if (j.is_null()) return std::vector<int>{0};  // one wave: everything
  if (!j.is_array() || j.empty()) {
    return InvalidArgument("waves: a non-empty list of sizes, the last may be \"rest\"");
  }
  std::vector<int> waves;
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& w = j[i];
    if (w.is_string() && w == "rest" && i + 1 == j.size()) {
      waves.push_back(0);
    } else if (w.is_number_integer() && w.get<int>() >= 1) {
      waves.push_back(w);
    } else {
      return InvalidArgument("waves[" + std::to_string(i) +
                             "]: a size of at least 1 (or \"rest\", last)");
    }
  }
  return waves;
}

}  // namespace

std::string CampaignStateName(CampaignState s) { return kStateNames[static_cast<int>(s)]; }

nlohmann::json HaltPolicy::ToJson() const {
  switch (kind) {
    case Kind::kFailures:
      return {{"failures", failures}};
    case Kind::kRate:
      return {{"rate", rate}, {"min_finished", min_finished}};
    case Kind::kFirstFailure:
      break;
  }
  return "first_failure";
}

std::string HaltPolicy::Describe() const {
  switch (kind) {
    case Kind::kFailures:
      return std::to_string(failures) + (failures == 1 ? " failure" : " failures");
    case Kind::kRate:
      return "failure rate " + std::to_string(static_cast<int>(std::lround(rate * 100))) +
             "% once " + std::to_string(min_finished) + " finished";
    case Kind::kFirstFailure:
      break;
  }
  return "first failure or rollback";
}

std::vector<std::vector<std::string>> Campaign::Waves() const {
  std::vector<std::vector<std::string>> out;
  size_t next = 0;
  for (int size : waves) {
    if (next >= clusters.size()) break;
    size_t n = size == 0 ? clusters.size() - next : std::min<size_t>(size, clusters.size() - next);
    out.emplace_back(clusters.begin() + next, clusters.begin() + next + n);
    next += n;
  }
  if (next < clusters.size()) out.emplace_back(clusters.begin() + next, clusters.end());
  return out;
}

std::string Campaign::MigrationNameFor(const std::string& cluster) const {
  return name + "-" + cluster;
}

nlohmann::json Campaign::ToDocument() const {
  nlohmann::json waves_json = nlohmann::json::array();
  for (int w : waves) waves_json.push_back(w == 0 ? nlohmann::json("rest") : nlohmann::json(w));
  nlohmann::json errors = nlohmann::json::object();
  for (const auto& [c, e] : create_errors) errors[c] = e;
  return {{"clusters", clusters},
          {"selector", selector},
          {"waves", waves_json},
          {"soak_s", soak_s},
          {"halt", halt.ToJson()},
          {"options", migration_options},
          {"state", CampaignStateName(state)},
          {"halt_reason", halt_reason},
          {"create_errors", errors},
          {"acknowledged_failures", acknowledged_failures},
          {"history", history.is_array() ? history : nlohmann::json::array()},
          {"created_by", created_by}};
}

Result<Campaign> Campaign::FromRecord(const CampaignRecord& r) {
  const nlohmann::json& d = r.document;
  Campaign c;
  c.name = r.name;
  c.team = r.team;
  c.created_at = r.created_at;
  try {
    c.clusters = d.value("clusters", std::vector<std::string>{});
    c.selector = d.value("selector", nlohmann::json());
    ASSIGN_OR_RETURN(c.waves, ParseWaves(d.value("waves", nlohmann::json())));
    c.soak_s = d.value("soak_s", 0.0);
    ASSIGN_OR_RETURN(c.halt, ParseHalt(d.value("halt", nlohmann::json())));
    c.migration_options = d.value("options", nlohmann::json::object());
    if (!ParseState(d.value("state", "running"), &c.state)) {
      return FailedPrecondition("campaign " + r.name + ": unknown state '" + d.value("state", "") +
                                "'");
    }
    c.halt_reason = d.value("halt_reason", "");
    const nlohmann::json errors = d.value("create_errors", nlohmann::json::object());
    for (const auto& [k, v] : errors.items()) {
      if (v.is_string()) c.create_errors[k] = v;
    }
    c.acknowledged_failures = d.value("acknowledged_failures", std::vector<std::string>{});
    c.history = d.value("history", nlohmann::json::array());
    if (!c.history.is_array()) c.history = nlohmann::json::array();
    c.created_by = d.value("created_by", "");
  } catch (const nlohmann::json::exception& e) {
    return FailedPrecondition("campaign " + r.name + ": unreadable document: " + e.what());
  }
  return c;
}

Result<CampaignRequest> ParseCampaignRequest(const nlohmann::json& body,
                                             CampaignRequestError* error) {
  auto fail = [&](Status s, std::string field) -> Result<CampaignRequest> {
    error->status = s;
    error->field = std::move(field);
    return s;
  };
  static const std::set<std::string> kKnown = {"name",  "team",   "clusters", "selector",
                                               "waves", "soak_s", "halt",     "options"};
  for (const auto& [k, v] : body.items()) {
    if (!kKnown.count(k)) return fail(InvalidArgument(k + ": unknown field"), k);
  }
  CampaignRequest req;
  Campaign& c = req.campaign;
  static const std::regex kName("^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$");
  if (!body.contains("name") || !body["name"].is_string() ||
      !std::regex_match(body["name"].get<std::string>(), kName)) {
    return fail(InvalidArgument("name: 1-40 letters, digits, '_', '.', '-'"), "name");
  }
  c.name = body["name"];
  if (body.contains("team")) {
    if (!body["team"].is_string() || body["team"].get<std::string>().empty()) {
      return fail(InvalidArgument("team: a team name"), "team");
    }
    c.team = body["team"];
  }
  const bool has_list = body.contains("clusters"), has_selector = body.contains("selector");
  if (has_list == has_selector) {
    return fail(InvalidArgument("clusters: give either a list of clusters or a label selector"),
                "clusters");
  }
  if (has_list) {
    const auto& list = body["clusters"];
    if (!list.is_array() || list.empty()) {
      return fail(InvalidArgument("clusters: a non-empty list of cluster names"), "clusters");
    }
    std::set<std::string> seen;
    for (const auto& n : list) {
      if (!n.is_string() || !seen.insert(n.get<std::string>()).second) {
        return fail(InvalidArgument("clusters: names, each once"), "clusters");
      }
      c.clusters.push_back(n);
    }
  } else {
    const auto& sel = body["selector"];
    if (!sel.is_object() || sel.empty()) {
      return fail(InvalidArgument("selector: an object of label: value"), "selector");
    }
    std::map<std::string, std::string> m;
    for (const auto& [k, v] : sel.items()) {
      if (!v.is_string()) return fail(InvalidArgument("selector." + k + ": a string"), "selector");
      m[k] = v;
    }
    req.selector = m;
    c.selector = sel;
  }
  auto waves = ParseWaves(body.value("waves", nlohmann::json()));
  if (!waves.ok()) return fail(waves.status(), "waves");
  c.waves = *waves;
  if (body.contains("soak_s")) {
    if (!body["soak_s"].is_number() || body["soak_s"].get<double>() < 0) {
      return fail(InvalidArgument("soak_s: seconds, at least 0"), "soak_s");
    }
    c.soak_s = body["soak_s"];
  }
  auto halt = ParseHalt(body.value("halt", nlohmann::json()));
  if (!halt.ok()) return fail(halt.status(), "halt");
  c.halt = *halt;
  if (body.contains("options")) {
    if (!body["options"].is_object()) {
      return fail(InvalidArgument("options: an object (as for POST /v1/migrations)"), "options");
    }
    c.migration_options = body["options"];
  }
  // A campaign cuts over on its own unless told otherwise.
  if (!c.migration_options.contains("auto_cutover")) c.migration_options["auto_cutover"] = true;
  return req;
}

bool SelectorMatches(const std::map<std::string, std::string>& selector,
                     const nlohmann::json& labels) {
  for (const auto& [k, v] : selector) {
    if (!labels.is_object() || !labels.contains(k) || !labels[k].is_string() || labels[k] != v) {
      return false;
    }
  }
  return true;
}

namespace {

// The history with one more entry (a merge patch replaces an array whole).
nlohmann::json WithHistory(const Campaign& c, const char* action, const CommandRequest& r) {
  nlohmann::json history = c.history.is_array() ? c.history : nlohmann::json::array();
  history.push_back({{"at", r.now}, {"action", action}, {"by", r.by}, {"why", r.why}});
  return history;
}

}  // namespace

Result<nlohmann::json> CommandPatch(const Campaign& c, CampaignCommand command,
                                    const CommandRequest& request) {
  const std::string now = CampaignStateName(c.state);
  switch (command) {
    case CampaignCommand::kPause:
      if (c.state != CampaignState::kRunning) {
        return FailedPrecondition("campaign " + c.name + " is " + now +
                                  "; only a running one "
                                  "can be paused");
      }
      return nlohmann::json{{"state", "paused"}, {"history", WithHistory(c, "pause", request)}};
    case CampaignCommand::kResume: {
      if (c.state != CampaignState::kPaused && c.state != CampaignState::kHalted) {
        return FailedPrecondition("campaign " + c.name + " is " + now +
                                  "; only a paused or halted one can be resumed");
      }
      nlohmann::json patch = {{"state", "running"}};
      if (c.state == CampaignState::kHalted) {
        std::vector<std::string> acknowledged = c.acknowledged_failures;
        for (const std::string& cluster : request.failed_clusters) {
          if (std::find(acknowledged.begin(), acknowledged.end(), cluster) == acknowledged.end()) {
            acknowledged.push_back(cluster);
          }
        }
        patch["acknowledged_failures"] = acknowledged;
        patch["halt_reason"] = "";
        CommandRequest r = request;
        r.why = r.why.empty() ? "resumed after the halt: " + c.halt_reason
                              : r.why + " (halted: " + c.halt_reason + ")";
        patch["history"] = WithHistory(c, "resume_halted", r);
      } else {
        patch["history"] = WithHistory(c, "resume", request);
      }
      return patch;
    }
    case CampaignCommand::kCancel:
      if (c.state == CampaignState::kCancelled || c.state == CampaignState::kCompleted) {
        return FailedPrecondition("campaign " + c.name + " is already " + now);
      }
      return nlohmann::json{{"state", "cancelled"}, {"history", WithHistory(c, "cancel", request)}};
  }
  return Internal("unknown campaign command");
}

}  // namespace pgshift::scheduler
