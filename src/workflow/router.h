// Router: the small interface through which the workflow moves application traffic. The data
// access layer (pgshift proxy) implements it over its admin API (ProxyRouter); RouteFile is the
// plain implementation for deployments without the proxy, where the load reads its endpoint
// from a file. A migration with no router switches nothing: the operator repoints clients.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "workflow/router_spec.h"

namespace pgshift {

struct Endpoint {
  std::string host;
  int port = 0;
  nlohmann::json ToJson() const { return {{"host", host}, {"port", port}}; }
};

class Router {
 public:
  virtual ~Router() = default;
  // Holds every session at its next transaction boundary. Ok only once ALL proxies
  // acknowledged; otherwise an error and nothing stays paused. The pause is a lease that
  // lapses after `lease` unless renewed, so a dead orchestrator cannot hold traffic forever.
  virtual Status Pause(std::chrono::milliseconds deadline, std::chrono::milliseconds lease) = 0;
  // After a Pause in this process: the source's backend pids the paused routers hold, idle,
  // and will close themselves after the switch (the fence leaves them alone). Empty when the
  // router holds no connections, and after a restart (the fence then terminates them all).
  virtual std::set<int> HeldBackends() const { return {}; }
  virtual Status Renew(std::chrono::milliseconds lease) = 0;
  // Points traffic at `to`. `version` only increases; a stale switch is refused.
  virtual Status Switch(const Endpoint& to, uint64_t version) = 0;
  // Releases the pause. A proxy that cannot be reached is skipped (its lease lapses).
  virtual Status Resume() = 0;
  virtual std::string Describe() const = 0;
  // What route versions are counted per (MigrationStore::NextRouteVersion): the routes this
  // router moves, shared by every migration that moves them (e.g. one proxy cluster).
  virtual std::string RouteKey() const { return Describe(); }
  // True when a switch while paused keeps every session held until Resume (a proxy); false
  // when clients follow the route by themselves (a route file), so that switching early
  // would let them reach the target before it is ready.
  virtual bool HoldsSessionsAcrossSwitch() const { return false; }
  // Before the pause: lets the routers open what a later Switch(to) will need (a proxy opens
  // a connection to `to` for each session). Best effort; a router with nothing to prepare
  // returns Ok.
  virtual Status PrepareSwitch(const Endpoint& to) {
    (void)to;
    return Status::Ok();
  }
  // The roles the routers log in to the database as (a proxy's backend role): the target
  // fence admits them (I8). Empty when the router holds no connections of its own.
  virtual Result<std::vector<std::string>> BackendRoles() { return std::vector<std::string>{}; }
  // Whether applications may have run on `to` since a switch to it: a resume released
  // sessions there, or clients found it by themselves. False only when the router knows they
  // did not (every proxy reachable, none with a confirmed route to `to`); unknown is true.
  virtual Result<bool> MayHaveServedOn(const Endpoint& to) {
    (void)to;
    return true;
  }
};

// Builds the router a migration's RouterSpec names (reading proxies' admin tokens from their
// files). kInvalidArgument naming an unreadable or empty token file.
Result<std::unique_ptr<Router>> MakeRouter(const RouterSpec& spec);

}  // namespace pgshift
