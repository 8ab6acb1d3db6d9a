// The checker of a chaos round (see round_verdict.h).
#include "round_verdict.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "demo/ledger_stream.h"
#include "pg/connection.h"
#include "platform/hba_fence.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace pgshift::chaos {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Tail(const std::string& text, size_t n) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

// Whether the application role can commit a write on `port` (straight to the server).
bool AppCommits(const VerdictInputs& in, int port, std::string* why) {
  ConnInfo app = in.source->Conn()
                     .With("port", std::to_string(port))
                     .With("user", in.app_user)
                     .With("password", in.app_password)
                     .With("connect_timeout", "5");
  auto c = PgConnection::Connect(app);
  if (!c.ok()) {
    *why = c.status().message();
    return false;
  }
  Status s = c->Exec("INSERT INTO chaos_probe VALUES (now())");
  if (!s.ok()) *why = s.message();
  return s.ok();
}

// Every pgbench client that aborted (connection lost, error) counts as one failed transaction.
uint64_t PgbenchAborts(const std::string& path) {
  std::istringstream in(ReadFile(path));
  std::string line;
  uint64_t n = 0;
  while (std::getline(in, line)) {
    if (line.rfind("pgbench: error: client ", 0) == 0 && line.find("aborted") != std::string::npos)
      ++n;
  }
  return n;
}

// The first acknowledged rows the consumer never received, with the time each was inserted
// (the ledger's `at`, epoch seconds) to set beside the migration's events: a row written
// between the promotion and the slot handover tells a different story than one before the fence.
json MissingRowsWithTimes(VerdictInputs& in, LocalInstance& w,
                          const std::vector<demo::LedgerCommit>& acked) {
  json out = json::array();
  auto got = in.consumer.Received();
  if (!got.ok()) return out;
  std::set<demo::LedgerCommit> received(got->inserts.begin(), got->inserts.end());
  auto c = PgConnection::Connect(w.Conn());
  if (!c.ok()) return out;
  for (const auto& a : acked) {
    if (received.count(a)) continue;
    auto at =
        c->QueryValue(fmt::format("SELECT extract(epoch FROM at)::text FROM {} WHERE client "
                                  "= {} AND seq = {}",
                                  demo::kLedgerTable, a.client, a.seq));
    out.push_back({{"client", a.client}, {"seq", a.seq}, {"at", at.ok() ? *at : "?"}});
    if (out.size() >= 8) break;
  }
  return out;
}

}  // namespace

json JudgeRound(VerdictInputs& in) {
  json v = {{"completed", 0},      {"rolled_back", 0},        {"stuck", 0},
            {"lost_commits", 0},   {"split_brain", 0},        {"cdc_missing", 0},
            {"cdc_duplicated", 0}, {"cdc_out_of_order", 0},   {"leftovers", 0},
            {"misrouted", 0},      {"failed_transactions", 0}};
  json violations = json::array();
  auto violate = [&](const std::string& kind, json evidence) {
    violations.push_back({{"kind", kind}, {"evidence", std::move(evidence)}});
  };

  // The migration's final state, within the deadline.
  auto status = in.control.StatusJson(in.migration);
  std::string phase = status.ok() ? status->value("phase", "") : "unknown";
  v["final_phase"] = phase;
  bool completed = phase == "completed", rolled_back = phase == "rolled_back";
  v["completed"] = completed ? 1 : 0;
  v["rolled_back"] = rolled_back ? 1 : 0;
  if (status.ok() && status->contains("events")) {
    json last = json::array();
    const auto& ev = (*status)["events"];
    for (size_t i = ev.size() > 8 ? ev.size() - 8 : 0; i < ev.size(); ++i) last.push_back(ev[i]);
    v["last_events"] = last;
  }
  if (!(completed || rolled_back) || !in.ended_in_time) {
    v["stuck"] = 1;
    violate("stuck",
            {{"phase", phase},
             {"last_events", v.value("last_events", json::array())},
             {"engine_output_tail",
              Tail(ReadFile(in.engine_outputs.empty() ? "" : in.engine_outputs.back()), 1500)}});
  }

  if (!in.engine_gave_up.empty() && (completed || rolled_back) && in.ended_in_time) {
    // It ended, but only because the round ran the engine again: the engine gave up on its own.
    violate("engine_gave_up", {{"exits", in.engine_gave_up}, {"final_phase", phase}});
  }
  if (in.rollback_accepted && completed) {
    violate("rollback_request_lost",
            {{"why", "a rollback request was accepted (CanRollback) and the migration completed"},
             {"last_events", v.value("last_events", json::array())}});
  }

  // Exactly one writable cluster (I1), and it is the one the final state names.
  std::optional<LocalInstance> target;
  if (fs::exists(in.target_dir + "/PG_VERSION")) {
    auto t = LocalInstance::Attach(in.target_dir, in.superuser_password);
    if (t.ok()) target.emplace(std::move(t).value());
  }
  std::vector<LocalInstance*> writable;
  json probes = json::object();
  for (LocalInstance* inst : {in.source, target ? &*target : nullptr}) {
    if (!inst) continue;
    std::string why;
    bool w = AppCommits(in, inst->port(), &why);
    probes[inst == in.source ? "source" : "target"] = w ? "writable" : "refused: " + why;
    if (w) writable.push_back(inst);
  }
  v["writable_probe"] = probes;
  LocalInstance* expected = completed ? (target ? &*target : nullptr) : in.source;
  if (writable.size() > 1) {
    v["split_brain"] = 1;
    violate("split_brain", {{"probes", probes}, {"final_phase", phase}});
  } else if (writable.empty()) {
    violate("no_writable_cluster", {{"probes", probes}, {"final_phase", phase}});
  } else if ((completed || rolled_back) && writable[0] != expected) {
    violate("wrong_writable_cluster", {{"probes", probes}, {"final_phase", phase}});
  }
  LocalInstance* w = writable.size() == 1 ? writable[0] : expected;
  if (!w) w = in.source;
  v["writable"] = w == in.source ? "source" : "target";

  // Every proxy routes to it, unpaused.
  json routes = json::array();
  for (ProxyInstance* p : in.proxies) {
    auto r = p->Route(in.cluster);
    if (!r.ok()) {
      v["misrouted"] = v["misrouted"].get<int>() + 1;
      violate("proxy_unreachable",
              {{"proxy", p->admin_address()}, {"error", r.status().message()}});
      continue;
    }
    routes.push_back({{"proxy", p->admin_address()},
                      {"port", r->port},
                      {"paused", r->paused},
                      {"version", r->version}});
    if (r->port != w->port()) {
      v["misrouted"] = v["misrouted"].get<int>() + 1;
      violate("misrouted", {{"proxy", p->admin_address()},
                            {"routes_to_port", r->port},
                            {"writable_port", w->port()}});
    }
    if (r->paused) {
      // Paused after the migration ended: a pause that lapses by itself (a request the proxy
      // took late, e.g. after a SIGSTOP) is told apart from one that stays.
      std::this_thread::sleep_for(in.pause_lease + std::chrono::seconds(1));
      auto again = p->Route(in.cluster);
      bool stays = !again.ok() || again->paused;
      if (stays) v["leftovers"] = v["leftovers"].get<int>() + 1;
      violate(stays ? "paused_route" : "stale_pause_after_end",
              {{"proxy", p->admin_address()},
               {"paused_when_checked", true},
               {"paused_after_lease", stays},
               {"proxy_log_tail", Tail(ReadFile(p->log_path()), 1500)}});
    }
  }
  v["routes"] = routes;

  // Every acknowledged commit is on the writable cluster (I2).
  std::vector<demo::LedgerCommit> acked = in.ledger.acknowledged();
  if (in.around) {
    auto a = in.around->acknowledged();
    acked.insert(acked.end(), a.begin(), a.end());
    v["around_acknowledged"] = in.around->acknowledged_per_address();
    v["around_refused"] = in.around->refused();
  }
  v["ledger_acknowledged"] = acked.size();
  {
    auto c = PgConnection::Connect(w->Conn());
    if (!c.ok()) {
      violate("writable_cluster_unreachable", c.status().message());
    } else {
      auto r = c->Query(fmt::format("SELECT client, seq FROM {}", demo::kLedgerTable));
      if (r.ok()) {
        std::set<demo::LedgerCommit> present;
        for (int i = 0; i < r->rows(); ++i) {
          present.insert({static_cast<int>(r->GetInt(i, "client")), r->GetInt(i, "seq")});
        }
        uint64_t lost = 0;
        json examples = json::array();
        for (const auto& a : acked) {
          if (present.count(a)) continue;
          ++lost;
          if (examples.size() < 5) examples.push_back({{"client", a.client}, {"seq", a.seq}});
        }
        v["lost_commits"] = lost;
        if (lost > 0) {
          json rollback = json::object();
          for (const auto& [k, val] : in.facts.items()) {
            if (k.rfind("rollback", 0) == 0 || k.rfind("fence", 0) == 0) rollback[k] = val;
          }
          violate("lost_commits", {{"count", lost}, {"examples", examples}, {"facts", rollback}});
        }
      }
      // Nothing left behind: fence, pg_hba, slots nobody uses.
      auto ro = c->QueryValue("SELECT current_setting('default_transaction_read_only')");
      if (ro.ok() && *ro != "off") {
        v["leftovers"] = v["leftovers"].get<int>() + 1;
        violate("leftover_read_only", {{"default_transaction_read_only", *ro}});
      }
    }
  }
  std::string hba = ReadFile(w->data_dir() + "/pg_hba.conf");
  if (hba.find(kHbaFenceMarker) != std::string::npos ||
      fs::exists(w->data_dir() + "/" + kHbaBackupName)) {
    v["leftovers"] = v["leftovers"].get<int>() + 1;
    violate("leftover_hba_fence", "pg_hba.conf still fenced (or its pgshift backup remains)");
  }

  // The CDC consumer, moved to the writable cluster if it is not there, catches up; then every
  // acknowledged row is in its output once, in order (I4).
  json cdc = json::object();
  Status moved = Status::Ok();
  if (in.consumer_port != w->port() || !in.consumer.Running()) {
    moved = in.consumer.Restart(w->Conn());
    cdc["moved_to"] = v["writable"];
  }
  if (!moved.ok()) {
    v["cdc_missing"] = acked.size();
    violate("cdc_consumer_cannot_follow", moved.message());
  } else {
    // Caught up means: the consumer confirmed (so wrote) everything up to the writable
    // cluster's WAL position read now, after the load stopped; rows still missing then are
    // missing for good, and the check ends without waiting out its 30 s.
    std::string end_lsn;
    auto admin = PgConnection::Connect(w->Conn());
    if (admin.ok()) {
      auto l = admin->QueryValue("SELECT pg_current_wal_lsn()::text");
      if (l.ok()) end_lsn = *l;
    }
    auto caught_up = [&]() {
      if (!admin.ok() || end_lsn.empty()) return false;
      auto r = admin->QueryValue(
          "SELECT coalesce(confirmed_flush_lsn >= $2::pg_lsn, false)::text FROM "
          "pg_replication_slots WHERE slot_name = $1",
          {in.slot, end_lsn});
      return r.ok() && *r == "true";
    };
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    demo::DeliveryReport rep;
    while (true) {
      bool settled = caught_up();
      auto got = in.consumer.Check(acked);
      if (got.ok()) rep = *got;
      if ((got.ok() && (rep.missing == 0 || settled)) || std::chrono::steady_clock::now() > until) {
        cdc["caught_up_to"] = settled ? end_lsn : "";
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    cdc["delivered"] = rep.delivered;
    cdc["unacknowledged"] = rep.unacknowledged;
    v["cdc_missing"] = rep.missing;
    v["cdc_duplicated"] = rep.duplicated;
    v["cdc_out_of_order"] = rep.out_of_order;
    cdc["duplicates_allowed"] = in.duplicates_allowed;
    json missing_rows = json::array();
    if (rep.missing > 0) missing_rows = MissingRowsWithTimes(in, *w, acked);
    if (rep.missing > 0 || rep.out_of_order > 0 || (rep.duplicated > 0 && !in.duplicates_allowed)) {
      violate("cdc", {{"missing", rep.missing},
                      {"duplicated", rep.duplicated},
                      {"out_of_order", rep.out_of_order},
                      {"first_problem", rep.first_problem},
                      {"missing_rows", missing_rows}});
    }
  }
  v["cdc"] = cdc;

  // Slots nobody uses on the writable cluster (once the consumer is attached to its own).
  {
    auto c = PgConnection::Connect(w->Conn());
    if (c.ok()) {
      auto r = c->Query(
          "SELECT slot_name, slot_type FROM pg_replication_slots WHERE NOT active AND slot_name <> "
          "$1",
          {in.slot});
      if (r.ok() && r->rows() > 0) {
        json names = json::array();
        for (int i = 0; i < r->rows(); ++i)
          names.push_back(r->Get(i, 0) + " (" + r->Get(i, 1) + ")");
        v["leftovers"] = v["leftovers"].get<int>() + r->rows();
        violate("leftover_slots", names);
      }
    }
  }

  auto report = in.ledger.report();
  uint64_t pgbench_aborts = PgbenchAborts(in.pgbench_output);
  v["ledger"] = {{"commits", report.commits},
                 {"failed_transactions", report.failed_transactions},
                 {"reconnects", report.reconnects},
                 {"max_commit_gap_ms", report.max_commit_gap_ms}};
  v["pgbench_aborted_clients"] = pgbench_aborts;
  v["failed_transactions"] = report.failed_transactions + pgbench_aborts;
  v["violations"] = violations;
  return v;
}

}  // namespace pgshift::chaos
