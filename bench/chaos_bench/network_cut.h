// NetworkCut: the network between the engine and the target cut and restored, with nftables
// rules on the loopback address: every TCP packet to or from the target's port on 127.0.0.1
// is dropped (established connections freeze, new ones time out), so the engine's and the
// proxies' connections to the target hang as they would behind a dead link. The rules live in
// a table of their own, named after this process and the round (`inet pgshift_chaos_<pid>_<round>`,
// so that rounds running side by side (--jobs) each cut only their own target's port), which
// Restore() and the destructor delete and bench/chaos's trap deletes too if the bench dies.
#pragma once

#include <mutex>
#include <string>

#include "common/status.h"

namespace pgshift::chaos {

class NetworkCut {
 public:
  // Whether `nft` is there and may add a table (root with CAP_NET_ADMIN).
  static bool Available();
  static std::string TablePrefix();  // pgshift_chaos_<pid>: every table this process makes

  explicit NetworkCut(int round) : table_(TablePrefix() + "_" + std::to_string(round)) {}
  ~NetworkCut() { Restore(); }
  NetworkCut(const NetworkCut&) = delete;
  NetworkCut& operator=(const NetworkCut&) = delete;

  Status Cut(int port);
  void Restore();

 private:
  std::mutex mu_;
  std::string table_;
  bool active_ = false;
};

}  // namespace pgshift::chaos
