// Lag and WAL-rate sampling for the migrations before their cutover.
#include "server/lag_sampler.h"

#include <atomic>
#include <set>
#include <thread>

#include "common/log.h"
#include "platform/replication_status.h"

namespace pgshift::server {

Result<LagReading> ReadLag(PgConnection& source, PgConnection& target) {
  ASSIGN_OR_RETURN(Lsn source_lsn, CurrentWalLsn(source));
  ASSIGN_OR_RETURN(Lsn replayed, ReplayLsn(target));
  return LagReading{BytesBetween(replayed, source_lsn), source_lsn.value};
}

Result<LagReading> ReadLagNow(const MigrationSpec& spec) {
  MigrationSpec resolved = spec;
  RETURN_IF_ERROR(ResolvePasswords(resolved));
  ASSIGN_OR_RETURN(PgConnection source, PgConnection::Connect(resolved.source));
  ASSIGN_OR_RETURN(PgConnection target, PgConnection::Connect(resolved.target));
  return ReadLag(source, target);
}

LagSampler::LagSampler(MetricSeries& series, Clock& clock, ListFn list,
                       std::chrono::milliseconds every, std::function<void()> sampled)
    : series_(series),
      clock_(clock),
      list_(std::move(list)),
      every_(every),
      sampled_(std::move(sampled)) {}

LagSampler::~LagSampler() { Stop(); }

void LagSampler::Start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
}

void LagSampler::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LagSampler::Loop() {
  while (true) {
    try {
      SampleOnce();
    } catch (const std::exception& e) {  // the list itself failed: try again next tick
      spdlog::error("server: lag sampler: {}", e.what());
    }
    std::unique_lock<std::mutex> l(mu_);
    if (wake_.wait_for(l, every_, [this] { return stopping_; })) break;
  }
  std::lock_guard<std::mutex> l(open_mu_);
  open_.clear();
}

void LagSampler::SampleOnce() {
  std::vector<SampledMigration> listed = list_();
  std::set<std::string> names;
  for (const auto& m : listed) names.insert(m.name);
  {
    std::lock_guard<std::mutex> l(open_mu_);
    for (auto it = open_.begin(); it != open_.end();) {
      it = names.count(it->first) || it->second->in_use ? std::next(it) : open_.erase(it);
    }
    for (auto it = forgotten_.begin(); it != forgotten_.end();) {
      it = names.count(*it) ? std::next(it) : forgotten_.erase(it);
    }
  }
  // A small pool for this tick: each thread takes the next migration until none is left, so a
  // cluster that hangs (up to the per-cluster timeout) holds one thread while the others go on.
  std::atomic<size_t> next{0};
  std::atomic<bool> recorded{false};
  auto work = [&] {
    for (size_t i = next++; i < listed.size(); i = next++) {
      if (SampleOneGuarded(listed[i])) recorded = true;
    }
  };
  const size_t threads = std::min<size_t>(static_cast<size_t>(concurrency_), listed.size());
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (recorded && sampled_) sampled_();
}

bool LagSampler::SampleOneGuarded(const SampledMigration& m) {
  try {  // nothing one migration does may stop the sampler (or end the process)
    return SampleOne(m);
  } catch (const std::exception& e) {
    spdlog::error("server: lag sampler: migration {}: {}", m.name, e.what());
  } catch (...) {
    spdlog::error("server: lag sampler: migration {}: unknown error", m.name);
  }
  std::lock_guard<std::mutex> l(open_mu_);
  open_.erase(m.name);
  return false;
}

ConnInfo LagSampler::Bounded(const ConnInfo& info) const {
  const int64_t s = std::max<int64_t>(2, per_cluster_timeout_.count());
  ConnInfo out = info;
  if (out.Get("connect_timeout").empty()) out = out.With("connect_timeout", std::to_string(s));
  if (out.Get("options").empty()) {
    out = out.With("options", "-c statement_timeout=" + std::to_string(s * 1000));
  }
  return out;
}

bool LagSampler::SampleOne(const SampledMigration& m) {
  std::shared_ptr<Connections> c;
  {
    std::lock_guard<std::mutex> l(open_mu_);
    if (forgotten_.count(m.name)) return false;
    auto& slot = open_[m.name];
    if (!slot) slot = std::make_shared<Connections>();
    c = slot;
    c->in_use = true;
  }
  auto open = [](std::optional<PgConnection>& slot, const ConnInfo& info) -> Status {
    if (slot && slot->Alive()) return Status::Ok();
    slot.reset();
    auto conn = PgConnection::Connect(info);
    if (!conn.ok()) return conn.status();
    slot.emplace(std::move(conn).value());
    return Status::Ok();
  };
  Status ready = open(c->source, Bounded(m.source));
  if (ready.ok()) ready = open(c->target, Bounded(m.target));
  Result<LagReading> reading = ready.ok() ? ReadLag(*c->source, *c->target) : ready;
  {
    std::lock_guard<std::mutex> l(open_mu_);
    c->in_use = false;
    if (c->forgotten || !reading.ok()) open_.erase(m.name);  // closes the connections
  }
  if (!reading.ok()) {
    spdlog::debug("{}: lag not sampled: {}", m.name, reading.status().message());
    return false;
  }
  double now = clock_.WallSeconds();
  series_.RecordLag(m.name, now, reading->lag_bytes);
  series_.RecordWalPosition(m.name, now, reading->source_wal_position);
  return true;
}

void LagSampler::Forget(const std::string& migration) {
  std::lock_guard<std::mutex> l(open_mu_);
  forgotten_.insert(migration);
  auto it = open_.find(migration);
  if (it == open_.end()) return;
  if (it->second->in_use) {
    it->second->forgotten = true;
  } else {
    open_.erase(it);
  }
}

}  // namespace pgshift::server
