// Standby links, the switch's connector task, and retiring the old backend.
#include "proxy/backend_move.h"

#include <chrono>
#include <optional>

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
// A quoted identifier for SQL the proxy sends: "" doubled, whatever the name holds.
std::string QuotedIdentifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += c;
    out += c;
  }
  return out + "\"";
}

// What the session runs as on its old backend, as statements for the new one: none when it
// runs as the proxy's login role, `SET ROLE "x"` after a SET ROLE (in any spelling, through
// set_config('role', ...) or inside a function). kAborted, with what for the client, when the
// role cannot be carried: the session authorization changed, or it cannot be known.
Result<std::vector<std::string>> RoleStatements(const BackendLogin& job,
                                                const Result<OldBackendState>* old,
                                                bool role_mentioned, uint64_t id) {
  if (!old) {
    // The server ended the old backend (the fence): the role is unknowable. The session's own
    // SQL never named a role, so it runs as the login role unless a function switched it.
    if (role_mentioned) {
      return Aborted(
          "a role set with SET ROLE or set_config('role', ...) on a server that "
          "has ended its connection");
    }
    return std::vector<std::string>{};
  }
  if (!old->ok()) {
    spdlog::warn("proxy session {}: cannot read the session's role from the old backend: {}", id,
                 old->status().ToString());
    return Aborted("a role the proxy could not read from the old server");
  }
  const std::string& current = (*old)->current_user;
  const std::string& session = (*old)->session_user;
  if (session != job.user) {
    spdlog::warn("proxy session {}: its session authorization is {}, not the login role {}", id,
                 session, job.user);
    return Aborted("a session authorization other than the proxy's login role");
  }
  if (current == session) return std::vector<std::string>{};
  return std::vector<std::string>{"SET ROLE " + QuotedIdentifier(current)};
}

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
                              std::shared_ptr<BackendLogin> job, Transport old_backend,
                              bool role_mentioned) {
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
  auto move = [w, id, tls, job, standby, old, role_mentioned] {
    // One round trip on the old backend: who the session runs as, and what it has set.
    std::optional<Result<OldBackendState>> read;
    if (old) read = ReadOldBackendState(*job, *old, kOldBackendAnswerMs);
    // The role first: a session that cannot keep its role must not go on as another one.
    auto role = RoleStatements(*job, read ? &*read : nullptr, role_mentioned, id);
    if (!role.ok()) {
      auto result = std::make_shared<Result<BackendLink>>(role.status());
      w->Post([id, result, ep = job->endpoint, old](Worker& worker) {
        if (Session* s = worker.Find(id))
          s->OnBackendLogin(std::move(*result), ep, old ? std::move(*old) : Transport());
      });
      return;
    }
    // Known only from an answer: the SETs seen go by cannot tell what set_config() did.
    bool read_only_default_is_servers = false;
    if (read && (*read)->settings_failed.ok()) {
      job->replay_sql = std::move((*read)->settings.replay_sql);
      read_only_default_is_servers =
          !(*read)->settings.sets_read_only_default && !ClientChoseReadOnlyDefault(job->options);
    } else if (read) {
      spdlog::info("proxy session {}: replaying the SETs seen instead: {}", id,
                   (*read)->settings_failed.ToString());
    }
    // Before the settings, so that a session's own SET of it wins: on a target still fenced
    // (I8) the moved session must write as soon as traffic resumes. Only on a route an explicit
    // resume confirmed: a switch inside a pause is not, and if that pause lapses the session
    // must stay read-only there; it writes through on its first transaction after the resume
    // (Session::StartFenceWriteThrough).
    if (job->endpoint.confirmed) {
      job->replay_sql.insert(job->replay_sql.begin(), kWriteThroughTargetFenceSql);
    }
    // After the settings: some may need the login role's privileges to be set.
    job->replay_sql.insert(job->replay_sql.end(), role->begin(), role->end());
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
    if (result->ok()) (*result)->read_only_default_is_servers = read_only_default_is_servers;
    Endpoint ep = job->endpoint;
    w->Post([id, result, ep, old](Worker& worker) {
      if (Session* s = worker.Find(id))
        s->OnBackendLogin(std::move(*result), ep, old ? std::move(*old) : Transport());
    });
  };
  // A move onto a standby link waits for a lane (switch_lanes.h); a login does not.
  if (standby)
    ctx.switch_lanes->Submit(std::move(move));
  else
    ctx.pool->Submit(std::move(move));
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
