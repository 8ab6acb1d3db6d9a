// A `pgshift proxy` process that faults can kill and restart (see proxy_instance.h).
#include "proxy_instance.h"

#include <fmt/format.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <thread>

#include "http/http_client.h"

namespace pgshift::chaos {

Result<std::unique_ptr<ProxyInstance>> ProxyInstance::Start(std::string binary,
                                                            std::string config_path, int admin_port,
                                                            std::string token) {
  std::unique_ptr<ProxyInstance> p(new ProxyInstance);
  p->binary_ = std::move(binary);
  p->config_path_ = std::move(config_path);
  p->admin_port_ = admin_port;
  p->token_ = std::move(token);
  RETURN_IF_ERROR(p->Launch());
  return p;
}

ProxyInstance::~ProxyInstance() {
  if (!process_) return;
  process_->Signal(SIGCONT);
  process_->Signal(SIGTERM);
  if (!process_->Wait(std::chrono::seconds(10))) process_->Signal(SIGKILL);
  process_->Wait(std::chrono::seconds(5));
}

std::string ProxyInstance::admin_address() const {
  return fmt::format("127.0.0.1:{}", admin_port_);
}

Status ProxyInstance::Launch() {
  ProcessOptions po;
  po.stdout_path = log_path();
  ASSIGN_OR_RETURN(ChildProcess c,
                   ChildProcess::Start({binary_, "proxy", "--config", config_path_}, po));
  process_.emplace(std::move(c));
  ++launches_;
  // A restarted proxy may find its old port still being released: it exits and is started again.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    HttpRequest r;
    r.method = "GET";
    r.path = "/healthz";
    auto got = HttpClient(admin_address()).Send(r, std::chrono::milliseconds(500));
    if (got.ok() && got->status == 200) return Status::Ok();
    if (!process_->Running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      ASSIGN_OR_RETURN(ChildProcess again,
                       ChildProcess::Start({binary_, "proxy", "--config", config_path_}, po));
      process_.emplace(std::move(again));
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Unavailable("proxy " + config_path_ + ": its admin API did not answer within 30 s (see " +
                     po.stdout_path.value() + ")");
}

Status ProxyInstance::Restart() {
  if (process_ && process_->Running()) Kill9();
  return Launch();
}

void ProxyInstance::Kill9() {
  if (!process_) return;
  process_->Signal(SIGKILL);
  process_->Wait(std::chrono::seconds(10));
}

void ProxyInstance::Stop() {
  if (process_) process_->Signal(SIGSTOP);
}

void ProxyInstance::Resume() {
  if (process_) process_->Signal(SIGCONT);
}

bool ProxyInstance::Running() { return process_ && process_->Running(); }

Result<ProxyRoute> ProxyInstance::Route(const std::string& cluster) const {
  HttpRequest r;
  r.method = "GET";
  r.path = "/v1/routes";
  r.headers["authorization"] = "Bearer " + token_;
  ASSIGN_OR_RETURN(HttpResponse got, HttpClient(admin_address()).Send(r, std::chrono::seconds(5)));
  auto j = nlohmann::json::parse(got.body, nullptr, false);
  if (got.status != 200 || j.is_discarded() || !j.contains("routes") ||
      !j["routes"].contains(cluster)) {
    return Unavailable(fmt::format("proxy {}: GET /v1/routes answered {}: {}", admin_address(),
                                   got.status, got.body.substr(0, 200)));
  }
  const auto& c = j["routes"][cluster];
  ProxyRoute out;
  out.host = c.value("host", "");
  out.port = c.value("port", 0);
  out.paused = c.value("paused", false);
  out.version = c.value("version", uint64_t{0});
  return out;
}

}  // namespace pgshift::chaos
