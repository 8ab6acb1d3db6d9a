// `pgshift slots`: replication slot hygiene. `list` shows every slot with the WAL it holds
// back (stale slots fill disks and block a migration's validation); `drop` removes slots
// after showing what each retains and asking for confirmation.
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cdc/logical_slot.h"
#include "cdc/slot_handover.h"
#include "cdc/slot_usage.h"
#include "cli/command.h"
#include "pg/connection.h"

namespace pgshift::cli {
namespace {

constexpr int kUsageExit = 2;

struct ListArgs {
  std::string server;
  bool json = false;
};

struct DropArgs {
  std::string server;
  std::vector<std::string> names;
  bool yes = false;
  bool force = false;
};

ConnInfo ParseServer(const std::string& text) {
  WarnIfPasswordInArgument("--server", text);
  return OrFail(ConnInfo::Parse(text, "server"), kUsageExit);
}

std::vector<SlotUsage> ReadSlots(const ConnInfo& server) {
  PgConnection c = OrFail(PgConnection::Connect(server));
  return OrFail(ListSlotUsage(c));
}

void PrintTable(const std::vector<SlotUsage>& slots) {
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "TYPE", "PLUGIN", "DATABASE", "ACTIVE", "WAL_STATUS", "RETAINED_WAL"}};
  for (const SlotUsage& s : slots) {
    std::string active = s.active ? "yes" : "no";
    if (s.active_pid) active += " (pid " + std::to_string(*s.active_pid) + ")";
    rows.push_back({s.name, s.type + (s.temporary ? " (temporary)" : ""),
                    s.plugin.empty() ? "-" : s.plugin, s.database.empty() ? "-" : s.database,
                    active, s.wal_status.empty() ? "-" : s.wal_status, s.retained_wal_pretty});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
  if (slots.empty()) std::cout << "(no replication slots)\n";
}

void RunList(const ListArgs& args) {
  ConnInfo server = ParseServer(args.server);
  std::vector<SlotUsage> slots = ReadSlots(server);
  if (args.json) {
    nlohmann::json out{{"server", server.Label()}, {"slots", nlohmann::json::array()}};
    for (const SlotUsage& s : slots) out["slots"].push_back(s.ToJson());
    std::cout << out.dump(2) << "\n";
    return;
  }
  PrintTable(slots);
}

// The slots to drop, each checked to exist and (without --force) to be idle, so that the
// operator is never asked to confirm something that would then fail.
std::vector<SlotUsage> SlotsToDrop(const ConnInfo& server, const DropArgs& args) {
  for (const std::string& n : args.names) OrFail(ValidateSlotName(n), kUsageExit);
  std::vector<SlotUsage> all = ReadSlots(server);
  std::vector<SlotUsage> chosen;
  for (const std::string& n : args.names) {
    auto it = std::find_if(all.begin(), all.end(), [&](const SlotUsage& s) { return s.name == n; });
    if (it == all.end()) {
      OrFail(NotFound(server.Label() + ": no replication slot named '" + n +
                      "' (see 'pgshift slots list'); nothing was dropped"));
    }
    if (it->active && !args.force) {
      OrFail(FailedPrecondition(
          server.Label() + ": slot '" + n + "' is in use by a consumer (pid " +
          (it->active_pid ? std::to_string(*it->active_pid) : std::string("unknown")) +
          "); stop the consumer first or pass --force to terminate it; nothing was dropped"));
    }
    chosen.push_back(*it);
  }
  return chosen;
}

bool Confirmed(const std::vector<SlotUsage>& slots) {
  std::cout << "Drop " << slots.size()
            << " replication slot(s)? Type 'yes' to confirm: " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "yes" || answer == "y";
}

void RunDrop(const DropArgs& args) {
  ConnInfo server = ParseServer(args.server);
  std::vector<SlotUsage> slots = SlotsToDrop(server, args);
  std::cout << "On " << server.Label() << ":\n";
  for (const SlotUsage& s : slots) {
    std::cout << "  " << s.name << " (" << s.type << (s.plugin.empty() ? "" : ", " + s.plugin)
              << (s.active ? ", ACTIVE" : ", inactive") << ") retains " << s.retained_wal_pretty
              << " of WAL\n";
  }
  if (!args.yes) {
    if (!isatty(STDIN_FILENO)) {
      OrFail(FailedPrecondition("refusing to drop slots without confirmation: standard input is "
                                "not a terminal; re-run with --yes to confirm; nothing was "
                                "dropped"),
             kUsageExit);
    }
    if (!Confirmed(slots)) OrFail(Aborted("not confirmed; nothing was dropped"));
  }
  OrFail(DropSlots(server, args.names, args.force));
  for (const SlotUsage& s : slots) {
    std::cout << "dropped " << s.name << " (released " << s.retained_wal_pretty << " of WAL)\n";
  }
}

}  // namespace

void AddSlotsCommand(CLI::App& app, GlobalOptions&) {
  auto* slots = app.add_subcommand("slots", "List replication slots and drop stale ones");
  slots->require_subcommand(1);

  auto list_args = std::make_shared<ListArgs>();
  auto* list = slots->add_subcommand(
      "list", "Show every replication slot with its state and the WAL it retains");
  list->add_option("--server", list_args->server, "Connection string of the server")->required();
  list->add_flag("--json", list_args->json, "Print JSON instead of a table");
  list->callback([list_args] { RunList(*list_args); });

  auto drop_args = std::make_shared<DropArgs>();
  auto* drop = slots->add_subcommand(
      "drop", "Drop replication slots (asks for confirmation, showing the WAL each retains)");
  drop->add_option("--server", drop_args->server, "Connection string of the server")->required();
  drop->add_option("names", drop_args->names, "Slot names")->required()->expected(1, -1);
  drop->add_flag("--yes", drop_args->yes, "Do not ask for confirmation");
  drop->add_flag("--force", drop_args->force,
                 "Also drop slots in use, terminating their consumers");
  drop->callback([drop_args] { RunDrop(*drop_args); });
}

}  // namespace pgshift::cli
