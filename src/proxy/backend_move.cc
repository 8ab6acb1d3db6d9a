// Standby links, the switch's connector task, and retiring the old backend.
#include "proxy/backend_move.h"

#include "common/log.h"
#include "proxy/proxy_context.h"
#include "proxy/session.h"
#include "proxy/wire_format.h"
#include "proxy/worker.h"

namespace pgshift::proxy {
namespace {
// How long the old server's connection stays open after traffic resumed on the new one (the
// worker's sweep closes it, so up to a second more).
constexpr auto kRetiredBackendGrace = std::chrono::milliseconds(250);
// How long a switch waits for the old server to list the session's settings before it falls
// back to the SETs it saw go by.
constexpr int kOldBackendAnswerMs = 1000;

// Run on a standby link right after its login, long before the switch. A fresh backend pays
// for its first use of each table (relation cache entries, catalog lookups): ~5-10 ms for the
// first pgbench transaction here, which with every session moving at once lengthened the gap
// after the resume. Opening the largest relations of the database now pays most of it while
// traffic still flows. Bounded (200 relations, 2 s) and never waiting on a lock for long; one
// implicit transaction, so the SET LOCALs leave nothing behind, and an error rolls it back.
constexpr const char* kWarmUpSql =
    "SET LOCAL lock_timeout = '20ms'; SET LOCAL statement_timeout = '2s'; "
    "SELECT count(pg_relation_size(oid)) FROM (SELECT oid FROM pg_class "
    "WHERE relkind IN ('r', 'i', 'm', 'p') AND relnamespace NOT IN "
    "('pg_catalog'::regnamespace, 'pg_toast'::regnamespace, 'information_schema'::regnamespace) "
    "ORDER BY relpages DESC LIMIT 200) AS largest";
}  // namespace

bool BackendMove::HasStandbyLinkTo(const Endpoint& endpoint) const {
  return standby_ == Standby::kOpen && standby_endpoint_.host == endpoint.host &&
         standby_endpoint_.port == endpoint.port;
}

void BackendMove::OpenStandby(Worker& worker, uint64_t session_id,
                              std::shared_ptr<BackendLogin> job) {
  standby_link_.reset();
  standby_ = Standby::kOpening;
  job->warm_up_sql = kWarmUpSql;
  Worker* w = &worker;
  uint64_t id = session_id;
  ProxyContext& ctx = worker.ctx();
  SSL_CTX* tls = ctx.backend_tls.get();
  ctx.pool->Submit([w, id, tls, job] {
    auto result = std::make_shared<Result<BackendLink>>(LoginToBackend(*job, tls));
    Endpoint ep = job->endpoint;
    w->Post([id, result, ep](Worker& worker) {
      if (Session* s = worker.Find(id)) s->OnStandbyLogin(std::move(*result), ep);
    });
  });
}

SessionInfo::StandbyState BackendMove::StandbyLoginDone(Result<BackendLink> link,
                                                        const Endpoint& endpoint) {
  if (!link.ok()) {
    standby_ = Standby::kNone;
    return SessionInfo::kStandbyFailed;
  }
  standby_ = Standby::kOpen;
  standby_link_ = std::move(*link);
  standby_endpoint_ = endpoint;
  return SessionInfo::kStandbyOpen;
}

void BackendMove::DropStandby() {
  if (standby_ != Standby::kOpen) return;
  standby_ = Standby::kNone;
  standby_link_.reset();
}

bool BackendMove::StartSwitch(Worker& worker, uint64_t session_id,
                              std::shared_ptr<BackendLogin> job, Transport old_backend) {
  Worker* w = &worker;
  uint64_t id = session_id;
  ProxyContext& ctx = worker.ctx();
  SSL_CTX* tls = ctx.backend_tls.get();
  std::shared_ptr<BackendLink> standby;
  if (HasStandbyLinkTo(job->endpoint)) {
    standby = std::make_shared<BackendLink>(std::move(*standby_link_));
  }
  DropStandby();
  // The old backend, idle, answers what the session has set; the connector task owns it until
  // it hands it back to be retired.
  std::shared_ptr<Transport> old;
  if (old_backend.open()) old = std::make_shared<Transport>(std::move(old_backend));
  ctx.pool->Submit([w, id, tls, job, standby, old] {
    if (old) {
      auto settings = ReadSessionSettings(*job, *old, kOldBackendAnswerMs);
      if (settings.ok()) {
        job->replay_sql = std::move(*settings);
      } else {
        spdlog::info("proxy session {}: replaying the SETs seen instead: {}", id,
                     settings.status().ToString());
      }
    }
    auto result = std::make_shared<Result<BackendLink>>(Unavailable("no standby link"));
    if (standby) {
      Status replayed = ReplayOnLink(*job, *standby);
      if (replayed.ok() || replayed.code() != Code::kUnavailable) {
        *result = replayed.ok() ? Result<BackendLink>(std::move(*standby))
                                : Result<BackendLink>(replayed);
      }
    }
    // No standby link, or it died (the fence or a restart of the target): log in now.
    if (!result->ok() && result->status().code() == Code::kUnavailable) {
      *result = LoginToBackend(*job, tls);
    }
    Endpoint ep = job->endpoint;
    w->Post([id, result, ep, old](Worker& worker) {
      if (Session* s = worker.Find(id))
        s->OnBackendLogin(std::move(*result), ep, old ? std::move(*old) : Transport());
    });
  });
  return standby != nullptr;
}

void BackendMove::CloseRetiredBackendAfterGrace(std::chrono::steady_clock::time_point now) {
  if (!retired_.open()) return;
  // The grace starts at the first look after the resume: the resume's kick, or the sweep for
  // a session that finished moving after that kick.
  if (retire_at_ == std::chrono::steady_clock::time_point{})
    retire_at_ = now + kRetiredBackendGrace;
  if (now < retire_at_) return;
  // A clean exit, not an EOF in the old server's log.
  std::string terminate = wire::Terminate();
  (void)retired_.Write(terminate.data(), terminate.size());
  retired_.Close();
}

}  // namespace pgshift::proxy
