// CutoverPolicy: the cutover policy's running parts in `pgshift server`, assembled over the
// ServerContext:
//   - the approval check the cutover route asks before it requests a cutover
//     (ServerContext::cutover_gate -> CheckCutoverAllowed);
//   - webhooks: an observer of the driver's transitions and failures feeds the dispatcher;
//   - series: the lag sampler feeds the context's MetricSeries (LiveStatus::series());
//   - the arming ticker: once a second it applies DecideArmed to every armed migration and
//     requests the cutover through MigrationControl when it may.
// Before the ticker requests a cutover it reads the migration again from the store, judges
// its gates (phase, recorded checks, latest lag sample, approval), then takes one fresh lag
// reading from source and target: the gates are judged at the moment of the switch, not
// remembered from an earlier look.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/approvals.h"
#include "server/lag_sampler.h"
#include "server/server_context.h"
#include "server/webhook_dispatcher.h"

namespace pgshift::server {

// The team's approval rule as the config states it.
ApprovalPolicy ApprovalPolicyOf(const TeamConfig& team);
// The approval kept in a migration's control object, if any (a malformed one counts as none).
std::optional<Approval> RecordedApproval(const nlohmann::json& control);
// Ok when `requester` may cut over (or arm) `migration` of `team` now; kFailedPrecondition
// "... needs an approval by a second identity ..." otherwise (the routes answer 409).
Status CheckCutoverAllowed(ServerContext& ctx, const std::string& migration,
                           const std::string& team, const std::string& requester);

struct CutoverPolicyOptions {
  std::chrono::milliseconds tick{1000};
  std::chrono::milliseconds lag_sample_every{5000};
  double lag_fresh_s = 30;  // a lag sample older than this is not judged by the gates
  WebhookOptions webhooks;
  // The fresh lag reading taken before an armed cutover is requested (default ReadLagNow).
  std::function<Result<LagReading>(const MigrationSpec&)> read_lag;
};

class CutoverPolicy {
 public:
  // Installs the cutover gate and the observer into `ctx` (and ctx.cutover_policy = this):
  // construct it before the server serves.
  explicit CutoverPolicy(ServerContext& ctx, CutoverPolicyOptions options = {});
  ~CutoverPolicy();  // Stop(), Finish()
  CutoverPolicy(const CutoverPolicy&) = delete;
  CutoverPolicy& operator=(const CutoverPolicy&) = delete;

  // Starts the arming ticker and the lag sampler.
  void Start();
  // Stops them (no cutover is requested after this returns).
  void Stop();
  // Gives pending webhooks up to `drain` to go out, then stops the dispatcher. After the
  // drivers stopped, so that their last transitions are sent.
  void Finish(std::chrono::milliseconds drain = std::chrono::seconds(2));

  // One pass of the arming ticker, as each tick runs it.
  void TickArmed();
  // Wakes the ticker now (after an arm request).
  void Wake();

  WebhookDispatcher& webhooks() { return webhooks_; }

 private:
  class Observer;
  void Loop();
  void ApplyTo(const std::string& name, const nlohmann::json& control);
  void Note(const std::string& name, const std::string& text);
  std::vector<SampledMigration> MigrationsToSample();

  ServerContext& ctx_;
  CutoverPolicyOptions options_;
  WebhookDispatcher webhooks_;
  LagSampler sampler_;
  std::mutex tick_mu_;  // one TickArmed at a time
  // Per armed migration: its armed_at and the last "why" written, under tick_mu_.
  std::map<std::string, std::string> waiting_for_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace pgshift::server
