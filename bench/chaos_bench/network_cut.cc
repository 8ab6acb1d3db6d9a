// Loopback packet filter rules cutting the target off (see network_cut.h).
#include "network_cut.h"

#include <fmt/format.h>
#include <unistd.h>

#include "common/process.h"

namespace pgshift::chaos {
namespace {

Status Nft(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"nft"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions o;
  o.timeout = std::chrono::seconds(10);
  auto out = RunCommand(argv, o);
  if (!out.ok()) return out.status();
  if (out->exit_code != 0) {
    return Unavailable("nft " + args[0] + " " + (args.size() > 1 ? args[1] : "") + ": " +
                       out->output);
  }
  return Status::Ok();
}

}  // namespace

std::string NetworkCut::TablePrefix() { return fmt::format("pgshift_chaos_{}", getpid()); }

bool NetworkCut::Available() {
  std::string probe = TablePrefix() + "_probe";
  if (!Nft({"add", "table", "inet", probe}).ok()) return false;
  return Nft({"delete", "table", "inet", probe}).ok();
}

Status NetworkCut::Cut(int port) {
  std::lock_guard<std::mutex> l(mu_);
  const std::string& t = table_;
  RETURN_IF_ERROR(Nft({"add", "table", "inet", t}));
  active_ = true;
  RETURN_IF_ERROR(
      Nft({"add", "chain", "inet", t, "out", "{ type filter hook output priority 0 ; }"}));
  RETURN_IF_ERROR(Nft({"add", "rule", "inet", t, "out", "ip", "daddr", "127.0.0.1", "tcp", "dport",
                       std::to_string(port), "drop"}));
  RETURN_IF_ERROR(Nft({"add", "rule", "inet", t, "out", "ip", "saddr", "127.0.0.1", "tcp", "sport",
                       std::to_string(port), "drop"}));
  return Status::Ok();
}

void NetworkCut::Restore() {
  std::lock_guard<std::mutex> l(mu_);
  if (!active_) return;
  (void)Nft({"delete", "table", "inet", table_});
  active_ = false;
}

}  // namespace pgshift::chaos
