// WebhookDispatcher: tells a team's own systems what happened to its migrations. Each phase
// change and each failure becomes one JSON POST per URL the team configured
// (`webhook = ...` in its [team] section):
//   {"event":"phase_changed"|"failed","migration","cluster","team","from","to","reason","at"}
// No secret is ever in a body: the fields are names, phases and the engine's reasons, which the
// house rules keep free of secrets.
//
// Deliveries run on the dispatcher's own thread from a bounded queue, so that a slow or dead
// receiver never blocks a migration: Enqueue returns at once. Each URL keeps its events in
// order; a failed attempt (no answer, or a status other than 2xx) is retried after an
// exponential backoff, up to max_attempts, then given up. Deliveries, failed attempts,
// give-ups and drops (queue full, URL unusable) are counted for /metrics. Log lines name a
// receiver by host:port only: a URL's path may itself be a secret (many hooks embed a key).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace pgshift::server {

struct WebhookEvent {
  std::string event;  // "phase_changed" or "failed"
  std::string migration, cluster, team, from, to, reason;
  double at = 0;  // wall seconds
  nlohmann::json ToJson() const;
};

// Where a URL sends: "host:port" (the default port of the scheme when absent), the path with
// its query, and whether it is HTTPS.
struct WebhookTarget {
  std::string address;
  std::string path;
  bool tls = false;
};
// kInvalidArgument for anything but http://HOST[:PORT][/PATH] or https://... (never quoting
// the URL's path, which may hold a key).
Result<WebhookTarget> ParseWebhookUrl(const std::string& url);

struct WebhookOptions {
  int max_attempts = 6;
  std::chrono::milliseconds first_backoff{500};  // doubled after each failed attempt
  std::chrono::milliseconds max_backoff{60000};
  std::chrono::milliseconds timeout{5000};  // per attempt
  size_t max_pending = 10000;               // deliveries queued over all URLs
  // HTTPS receivers' certificates are verified against this bundle.
  std::string tls_ca_file = "/etc/ssl/certs/ca-certificates.crt";
};

struct WebhookCounters {
  uint64_t delivered = 0;
  uint64_t attempts_failed = 0;  // every failed attempt, retried or not
  uint64_t gave_up = 0;          // deliveries abandoned after max_attempts
  uint64_t dropped = 0;          // never attempted: queue full, unusable URL, or stopped
  uint64_t pending = 0;
};

class WebhookDispatcher {
 public:
  explicit WebhookDispatcher(WebhookOptions options = {});
  ~WebhookDispatcher();
  WebhookDispatcher(const WebhookDispatcher&) = delete;
  WebhookDispatcher& operator=(const WebhookDispatcher&) = delete;

  // One delivery of `event` per URL; returns at once.
  void Enqueue(const std::vector<std::string>& urls, const WebhookEvent& event);
  WebhookCounters Counters() const;
  // True once nothing is pending (every delivery made or given up), false if `timeout` passed.
  bool WaitIdle(std::chrono::milliseconds timeout);
  // Ends the thread after the attempt in flight; what is still queued is dropped (counted).
  void Stop();

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  struct Delivery {
    std::string body;
    uint64_t id = 0;
  };
  struct UrlQueue {
    WebhookTarget target;
    std::deque<Delivery> items;
    SteadyTime due{};
    int attempts = 0;  // of the head item
  };
  void Loop();
  std::chrono::milliseconds Backoff(int attempts) const;
  bool Send(const WebhookTarget& target, const Delivery& d, int attempt);

  WebhookOptions options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::map<std::string, UrlQueue> queues_;  // by URL
  WebhookCounters counters_;
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pgshift::server
