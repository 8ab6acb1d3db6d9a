// `pgshift --server URL campaign create|list|status|pause|resume|cancel`: campaigns migrate a
// team's clusters in waves through a pgshift server (docs/fleet.md). Like `cluster`, these
// need --server: a campaign lives in the server's store and the server drives it.
#include <iostream>
#include <sstream>

#include "cli/command.h"
#include "cli/remote_session.h"

namespace pgshift::cli {
namespace {

ServerClient ServerOrAdvice(const GlobalOptions& g) {
  return ConnectToRequiredServer(g, "campaigns run on a pgshift server");
}

[[noreturn]] void BadFlag(const std::string& flag, const std::string& why) {
  throw CommandFailed{InvalidArgument(flag + ": " + why), kBadInput};
}

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ',');) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

nlohmann::json WavesJson(const std::string& spec) {
  nlohmann::json waves = nlohmann::json::array();
  for (const std::string& w : SplitCommas(spec)) {
    if (w == "rest") {
      waves.push_back("rest");
    } else if (w.find_first_not_of("0123456789") == std::string::npos) {
      waves.push_back(std::stoi(w));
    } else {
      BadFlag("--waves", "'" + w + "' is not a size or rest (e.g. 1,5,20,rest)");
    }
  }
  return waves;
}

// "first_failure", "failures=N", "rate=R" or "rate=R,min=M".
nlohmann::json HaltJson(const std::string& spec) {
  if (spec == "first_failure") return "first_failure";
  nlohmann::json h = nlohmann::json::object();
  for (const std::string& part : SplitCommas(spec)) {
    auto eq = part.find('=');
    if (eq == std::string::npos) BadFlag("--halt", "expected failures=N or rate=R[,min=M]");
    std::string k = part.substr(0, eq), v = part.substr(eq + 1);
    try {
      if (k == "failures") {
        h["failures"] = std::stoi(v);
      } else if (k == "rate") {
        h["rate"] = std::stod(v);
      } else if (k == "min") {
        h["min_finished"] = std::stoi(v);
      } else {
        BadFlag("--halt", "unknown '" + k + "'");
      }
    } catch (const std::logic_error&) {
      BadFlag("--halt", "'" + v + "' is not a number");
    }
  }
  return h;
}

double SoakSeconds(const std::string& v) {
  if (v.empty()) return 0;
  char unit = v.back();
  double mult = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 0;
  std::string digits = mult == 0 ? v : v.substr(0, v.size() - 1);
  if (mult == 0) mult = 1;
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) {
    BadFlag("--soak", "'" + v + "' is not a duration (e.g. 600, 10m, 1h)");
  }
  return std::stod(digits) * mult;
}

std::string Duration(double s) {
  if (s < 120) return std::to_string(static_cast<int>(s)) + " s";
  if (s < 7200) return std::to_string(static_cast<int>(s / 60)) + " min";
  return std::to_string(static_cast<int>(s / 3600)) + " h";
}

// A member of an answer, or a default when it is missing or of another type (null included).
double Num(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0;
}
std::string Str(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

std::string CampaignListText(const nlohmann::json& campaigns, const std::string& where) {
  if (!campaigns.is_array() || campaigns.empty()) return "no campaigns on " + where + "\n";
  std::ostringstream out;
  for (const auto& s : campaigns) {
    out << Str(s, "name") << "  " << Str(s, "team") << "  " << Str(s, "state") << "  wave "
        << Num(s, "wave") << "/" << Num(s, "waves") << "  " << Num(s, "clusters") << " clusters";
    if (s.contains("halt_reason") && s["halt_reason"].is_string()) {
      out << "  (" << s["halt_reason"].get<std::string>() << ")";
    }
    out << "\n";
  }
  return out.str();
}

std::string CampaignText(const nlohmann::json& c) {
  std::ostringstream out;
  const nlohmann::json& p = c.value("progress", nlohmann::json::object());
  out << "campaign " << Str(c, "name") << " (team " << Str(c, "team") << "): " << Str(c, "state");
  if (c.contains("halt_reason") && c["halt_reason"].is_string()) {
    out << ": " << c["halt_reason"].get<std::string>();
  }
  out << "\n  wave " << Num(p, "wave") << " of " << Num(p, "waves");
  if (!Str(p, "waiting").empty()) out << " (" << Str(p, "waiting") << ")";
  out << "\n  by state:";
  const nlohmann::json by_state = p.value("by_state", nlohmann::json::object());
  for (const auto& [k, v] : by_state.items()) {
    out << " " << k << "=" << (v.is_number() ? v.get<int>() : 0);
  }
  out << "\n  eta: ";
  if (p.contains("eta_s") && p["eta_s"].is_number()) {
    out << Duration(p["eta_s"].get<double>()) << " (" << Str(p, "eta_basis") << ")";
  } else {
    out << "unknown (" << Str(p, "eta_basis") << ")";
  }
  if (p.contains("slowest") && p["slowest"].is_object()) {
    const auto& s = p["slowest"];
    out << "\n  slowest: " << Str(s, "migration") << " in " << Str(s, "phase") << " for "
        << Duration(Num(s, "elapsed_s")) << ": " << Str(s, "why");
  }
  out << "\n";
  for (const auto& m : c.value("members", nlohmann::json::array())) {
    out << "  " << Str(m, "cluster") << "  ";
    if (m.contains("refused")) {
      out << "refused: " << m["refused"].get<std::string>();
    } else if (m["migration"].is_null()) {
      out << "not started";
    } else {
      out << m["migration"].get<std::string>() << " " << m["phase"].get<std::string>();
    }
    if (m.contains("waiting") && m["waiting"].is_string()) {
      out << " (" << m["waiting"].get<std::string>() << ")";
    }
    out << "\n";
  }
  for (const auto& h : c.value("history", nlohmann::json::array())) {
    out << "  " << Str(h, "action") << " by " << Str(h, "by");
    if (!Str(h, "why").empty()) out << ": " << Str(h, "why");
    out << "\n";
  }
  return out.str();
}

struct CreateFlags {
  std::string name, team, clusters, waves, soak, halt;
  std::vector<std::string> selector, options;
};

nlohmann::json CreateBody(const CreateFlags& f) {
  nlohmann::json body = {{"name", f.name}};
  if (!f.team.empty()) body["team"] = f.team;
  if (!f.clusters.empty()) body["clusters"] = SplitCommas(f.clusters);
  if (!f.selector.empty()) {
    nlohmann::json sel = nlohmann::json::object();
    for (const std::string& kv : f.selector) {
      auto eq = kv.find('=');
      if (eq == std::string::npos) BadFlag("--selector", "expected LABEL=VALUE, got '" + kv + "'");
      sel[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    body["selector"] = sel;
  }
  if (!f.waves.empty()) body["waves"] = WavesJson(f.waves);
  if (!f.soak.empty()) body["soak_s"] = SoakSeconds(f.soak);
  if (!f.halt.empty()) body["halt"] = HaltJson(f.halt);
  if (!f.options.empty()) {
    nlohmann::json opts = nlohmann::json::object();
    for (const std::string& kv : f.options) {
      auto eq = kv.find('=');
      if (eq == std::string::npos) BadFlag("--option", "expected KEY=VALUE, got '" + kv + "'");
      // Numbers and booleans as JSON, anything else as a string.
      auto v = nlohmann::json::parse(kv.substr(eq + 1), nullptr, false);
      opts[kv.substr(0, eq)] = v.is_discarded() ? nlohmann::json(kv.substr(eq + 1)) : v;
    }
    body["options"] = opts;
  }
  return body;
}

}  // namespace

void AddCampaignCommands(CLI::App& app, GlobalOptions& g) {
  auto* c = app.add_subcommand("campaign", "migrate a team's clusters in waves (needs --server)");
  c->require_subcommand(1);
  c->add_flag("--json", g.json, "machine-readable output");

  auto f = std::make_shared<CreateFlags>();
  auto create = c->add_subcommand("create", "create and start a campaign");
  create->add_option("name", f->name, "the campaign's name")->required();
  create->add_option("--clusters", f->clusters, "members, comma-separated, in wave order");
  create->add_option("--selector", f->selector, "members by label: LABEL=VALUE (repeatable)");
  create->add_option("--team", f->team, "the team whose clusters (default: the token's)");
  create->add_option("--waves", f->waves, "wave sizes, e.g. 1,5,20,rest (default: all at once)");
  create->add_option("--soak", f->soak, "healthy time after each wave, e.g. 600, 10m, 1h");
  create->add_option("--halt", f->halt, "first_failure (default), failures=N, or rate=R[,min=M]");
  create->add_option("--option", f->options,
                     "a migration option KEY=VALUE (as POST /v1/migrations options; repeatable)");
  create->add_flag("--json", g.json, "JSON output");
  create->callback([=, &g] {
    if (f->clusters.empty() == f->selector.empty()) {
      BadFlag("--clusters", "give either --clusters or --selector");
    }
    ServerClient client = ServerOrAdvice(g);
    ApiAnswer a = OrFailApi(client.Post("/v1/campaigns", CreateBody(*f)), kExitForStatus);
    if (g.json) {
      std::cout << a.body.dump(2) << "\n";
      return;
    }
    std::cout << CampaignText(a.body) << "follow: pgshift --server " << client.url().ToString()
              << " campaign status " << f->name << "\n";
  });

  auto team = std::make_shared<std::string>();
  auto list = c->add_subcommand("list", "the campaigns the token may see");
  list->add_option("--team", *team, "only this team's");
  list->add_flag("--json", g.json, "JSON output");
  list->callback([=, &g] {
    ServerClient client = ServerOrAdvice(g);
    PrintRemoteList(client, g.json, "/v1/campaigns", {{"team", *team}}, "campaigns",
                    CampaignListText);
  });

  auto name = std::make_shared<std::string>();
  auto status = c->add_subcommand("status", "a campaign's state, progress and members");
  status->add_option("name", *name, "the campaign")->required();
  status->add_flag("--json", g.json, "JSON output");
  status->callback([=, &g] {
    ServerClient client = ServerOrAdvice(g);
    ApiAnswer a = OrFailApi(client.Get(ApiPath("/v1/campaigns/", *name)), kExitForStatus);
    std::cout << (g.json ? a.body.dump(2) + "\n" : CampaignText(a.body));
  });

  for (const char* verb : {"pause", "resume", "cancel"}) {
    auto target = std::make_shared<std::string>();
    auto reason = std::make_shared<std::string>();
    const std::string what = verb == std::string("pause") ? "start no new migration until resumed"
                             : verb == std::string("resume")
                                 ? "go on with a paused campaign, or with a halted one "
                                   "once its failures were looked at"
                                 : "stop the campaign for good (running migrations go on)";
    auto cmd = c->add_subcommand(verb, what);
    cmd->add_option("name", *target, "the campaign")->required();
    cmd->add_option("--reason", *reason, "why, kept in the campaign's history");
    cmd->add_flag("--json", g.json, "JSON output");
    const std::string v = verb;
    cmd->callback([=, &g] {
      ServerClient client = ServerOrAdvice(g);
      nlohmann::json body = nlohmann::json::object();
      if (!reason->empty()) body["reason"] = *reason;
      ApiAnswer a =
          OrFailApi(client.Post(ApiPath("/v1/campaigns/", *target, "/" + v), body), kExitForStatus);
      std::cout << (g.json ? a.body.dump(2) + "\n" : CampaignText(a.body));
    });
  }
}

}  // namespace pgshift::cli
