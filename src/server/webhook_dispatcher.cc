// Webhook deliveries on one thread, per-URL order, exponential backoff.
#include "server/webhook_dispatcher.h"

#include <algorithm>
#include <charconv>

#include "common/log.h"
#include "http/http_client.h"
#include "server/rfc3339_time.h"

namespace pgshift::server {

nlohmann::json WebhookEvent::ToJson() const {
  return {{"event", event},   {"migration", migration}, {"cluster", cluster},
          {"team", team},     {"from", from},           {"to", to},
          {"reason", reason}, {"at", FormatRfc3339(at)}};
}

Result<WebhookTarget> ParseWebhookUrl(const std::string& url) {
  WebhookTarget t;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    t.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    return InvalidArgument("a webhook URL must start with http:// or https://");
  }
  size_t slash = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, slash);
  t.path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (!t.path.empty() && t.path[0] == '?') t.path = "/" + t.path;
  if (size_t hash = t.path.find('#'); hash != std::string::npos) t.path.resize(hash);
  if (authority.empty() || authority.find('@') != std::string::npos) {
    return InvalidArgument("a webhook URL needs a host (and no user:password@)");
  }
  std::string host = authority;
  int port = t.tls ? 443 : 80;
  size_t colon = authority.rfind(':');
  bool bracketed = !authority.empty() && authority.front() == '[';
  if (colon != std::string::npos && (!bracketed || colon > authority.find(']'))) {
    host = authority.substr(0, colon);
    std::string p = authority.substr(colon + 1);
    if (std::from_chars(p.data(), p.data() + p.size(), port).ec != std::errc() || port < 1 ||
        port > 65535) {
      return InvalidArgument("webhook URL for host " + host + ": the port is not a number 1-65535");
    }
  }
  if (host.empty()) return InvalidArgument("a webhook URL needs a host");
  t.address = host + ":" + std::to_string(port);
  return t;
}

WebhookDispatcher::WebhookDispatcher(WebhookOptions options) : options_(std::move(options)) {
  thread_ = std::thread([this] { Loop(); });
}

WebhookDispatcher::~WebhookDispatcher() { Stop(); }

void WebhookDispatcher::Enqueue(const std::vector<std::string>& urls, const WebhookEvent& event) {
  if (urls.empty()) return;
  // A reason may quote a server's message in another encoding: replaced, never thrown.
  const std::string body =
      event.ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& url : urls) {
    if (stopping_ || counters_.pending >= options_.max_pending) {
      ++counters_.dropped;
      spdlog::warn("webhook: queue full ({} pending); event {} of {} dropped", counters_.pending,
                   event.event, event.migration);
      continue;
    }
    auto it = queues_.find(url);
    if (it == queues_.end()) {
      auto target = ParseWebhookUrl(url);
      if (!target.ok()) {
        ++counters_.dropped;
        spdlog::warn("webhook: unusable URL for team {}: {}", event.team,
                     target.status().message());
        continue;
      }
      it = queues_.emplace(url, UrlQueue{*target, {}, {}, 0}).first;
    }
    if (it->second.items.empty()) it->second.due = std::chrono::steady_clock::now();
    it->second.items.push_back({body, next_id_++});
    ++counters_.pending;
  }
  wake_.notify_all();
}

WebhookCounters WebhookDispatcher::Counters() const {
  std::lock_guard<std::mutex> l(mu_);
  return counters_;
}

bool WebhookDispatcher::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(mu_);
  return idle_.wait_for(l, timeout, [this] { return counters_.pending == 0; });
}

void WebhookDispatcher::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [url, q] : queues_) {
    counters_.dropped += q.items.size();
    q.items.clear();
  }
  counters_.pending = 0;
  idle_.notify_all();
}

std::chrono::milliseconds WebhookDispatcher::Backoff(int attempts) const {
  auto d = options_.first_backoff;
  for (int i = 1; i < attempts && d < options_.max_backoff; ++i) d *= 2;
  return std::min(d, options_.max_backoff);
}

bool WebhookDispatcher::Send(const WebhookTarget& target, const Delivery& d, int attempt) {
  HttpClientOptions client_options;
  if (target.tls) client_options.tls_ca_file = options_.tls_ca_file;
  HttpClient client(target.address, client_options);
  HttpRequest request;
  request.method = "POST";
  request.path = target.path;
  request.headers["content-type"] = "application/json";
  request.headers["user-agent"] = "pgshift-server";
  request.headers["x-pgshift-delivery"] = std::to_string(d.id);
  request.headers["x-pgshift-attempt"] = std::to_string(attempt);
  request.body = d.body;
  auto answer = client.Send(request, options_.timeout);
  if (answer.ok() && answer->status >= 200 && answer->status < 300) return true;
  spdlog::warn("webhook: delivery {} to {} attempt {} of {} failed: {}", d.id, target.address,
               attempt, options_.max_attempts,
               answer.ok() ? "HTTP " + std::to_string(answer->status) : std::string("no answer"));
  return false;
}

void WebhookDispatcher::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    auto now = std::chrono::steady_clock::now();
    UrlQueue* next = nullptr;
    for (auto& [url, q] : queues_) {
      if (!q.items.empty() && (!next || q.due < next->due)) next = &q;
    }
    if (!next) {
      wake_.wait(l);
      continue;
    }
    if (next->due > now) {
      wake_.wait_until(l, next->due);
      continue;
    }
    WebhookTarget target = next->target;
    Delivery d = next->items.front();
    int attempt = next->attempts + 1;
    l.unlock();
    bool ok = false;
    try {
      ok = Send(target, d, attempt);
    } catch (const std::exception& e) {  // a failed attempt, never the end of the thread
      spdlog::warn("webhook: delivery {} to {} attempt {}: {}", d.id, target.address, attempt,
                   e.what());
    }
    l.lock();
    // queues_ only grows, and only this thread pops: `next` and its head are still there,
    // unless Stop() cleared the queues meanwhile.
    if (next->items.empty() || next->items.front().id != d.id) continue;
    if (ok) {
      ++counters_.delivered;
    } else {
      ++counters_.attempts_failed;
    }
    if (ok || attempt >= options_.max_attempts) {
      if (!ok) {
        ++counters_.gave_up;
        spdlog::warn("webhook: delivery {} to {} given up after {} attempts", d.id, target.address,
                     attempt);
      }
      next->items.pop_front();
      next->attempts = 0;
      next->due = std::chrono::steady_clock::now();
      --counters_.pending;
      if (counters_.pending == 0) idle_.notify_all();
    } else {
      next->attempts = attempt;
      next->due = std::chrono::steady_clock::now() + Backoff(attempt);
    }
  }
}

}  // namespace pgshift::server
