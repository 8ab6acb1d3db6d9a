// Standby links, the switch's connector task, and retiring the old backend.
#include "proxy/backend_move.h"

#include <poll.h>

#include <chrono>

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

// Sends `sql` on the idle old backend and returns the text of the first row's columns;
// bounded by `timeout_ms` overall. The socket stays non-blocking (poll between attempts).
Result<std::vector<std::string>> QueryFirstRow(Transport& old, const std::string& sql,
                                               int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  auto wait = [&](short events) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{old.fd(), events, 0};
    return ::poll(&p, 1, int(left.count())) > 0;
  };
  std::string out = wire::Query(sql);
  for (size_t off = 0; off < out.size();) {
    ssize_t n = old.Write(out.data() + off, out.size() - off);
    if (n == Transport::kClosed) return Unavailable("the old backend is gone");
    if (n > 0)
      off += size_t(n);
    else if (!wait(POLLOUT))
      return Unavailable("the old backend did not take the query in time");
  }
  std::string in;
  std::vector<std::string> row;
  bool have_row = false;
  std::string error;
  char buf[4096];
  for (;;) {
    // Whole messages first: type, length, body.
    while (in.size() >= 5) {
      size_t len = wire::ReadU32(in.data() + 1);
      if (len < 4 || len > (1u << 20)) return Unavailable("malformed answer from the old backend");
      if (in.size() < 1 + len) break;
      char type = in[0];
      std::string_view body(in.data() + 5, len - 4);
      if (type == 'E' && error.empty()) {
        auto fields = wire::ParseErrorFields(body);
        error = fields['C'] + " " + fields['M'];
      } else if (type == 'D' && !have_row && body.size() >= 2) {
        have_row = true;
        size_t count = wire::ReadU16(body.data()), pos = 2;
        for (size_t i = 0; i < count; ++i) {
          if (pos + 4 > body.size()) return Unavailable("malformed row from the old backend");
          int32_t n = int32_t(wire::ReadU32(body.data() + pos));
          pos += 4;
          if (n < 0 || pos + size_t(n) > body.size()) {
            return Unavailable("malformed row from the old backend");
          }
          row.emplace_back(body.substr(pos, size_t(n)));
          pos += size_t(n);
        }
      } else if (type == 'Z') {
        if (!error.empty()) return FailedPrecondition("the old backend refused: " + error);
        if (!have_row) return FailedPrecondition("the old backend returned no row");
        return row;
      }
      in.erase(0, 1 + len);
    }
    ssize_t n = old.Read(buf, sizeof(buf));
    if (n == Transport::kClosed) return Unavailable("the old backend is gone");
    if (n > 0)
      in.append(buf, size_t(n));
    else if (!wait(POLLIN))
      return Unavailable("the old backend did not answer in time");
  }
}

// What the session runs as on its old backend, as statements for the new one: none when it
// runs as the proxy's login role, `SET ROLE "x"` after a SET ROLE (in any spelling, through
// set_config('role', ...) or inside a function). kAborted, with what for the client, when the
// role cannot be carried: the session authorization changed, or it cannot be known.
Result<std::vector<std::string>> RoleStatements(const BackendLogin& job, Transport* old,
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
  auto roles = QueryFirstRow(*old, "SELECT CURRENT_USER, SESSION_USER", kOldBackendAnswerMs);
  if (!roles.ok() || roles->size() != 2) {
    spdlog::warn("proxy session {}: cannot read the session's role from the old backend: {}", id,
                 roles.ok() ? "unexpected columns" : roles.status().ToString());
    return Aborted("a role the proxy could not read from the old server");
  }
  const std::string& current = (*roles)[0];
  const std::string& session = (*roles)[1];
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
  ctx.pool->Submit([w, id, tls, job, standby, old, role_mentioned] {
    // The role first: a session that cannot keep its role must not go on as another one.
    auto role = RoleStatements(*job, old.get(), role_mentioned, id);
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
    if (old) {
      auto settings = ReadSessionSettings(*job, *old, kOldBackendAnswerMs);
      if (settings.ok()) {
        job->replay_sql = std::move(settings->replay_sql);
        read_only_default_is_servers =
            !settings->sets_read_only_default && !ClientChoseReadOnlyDefault(job->options);
      } else {
        spdlog::info("proxy session {}: replaying the SETs seen instead: {}", id,
                     settings.status().ToString());
      }
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
