// Session protocol logic: admission, forwarding, pause holding, switching.
#include "proxy/session.h"

#include <sys/epoll.h>

#include <cerrno>

#include "common/clock.h"
#include "common/log.h"
#include "proxy/admission.h"
#include "proxy/proxy_context.h"
#include "proxy/wire_format.h"

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

Session::Session(Worker& worker, uint64_t id, int client_fd, std::string peer)
    : worker_(worker),
      ctx_(worker.ctx()),
      id_(id),
      peer_(std::move(peer)),
      client_(client_fd),
      to_backend_(worker.ctx().config.buffer_bytes),
      to_client_(worker.ctx().config.buffer_bytes) {
  client_side_.s = this;
  backend_side_.s = this;
  metrics_ = &ctx_.metrics.For("");
}

Session::~Session() { Release(); }

const std::string& Session::cluster_name() const {
  static const std::string kNone;
  return cluster_ ? cluster_->name : kNone;
}

void Session::OnClientEvent(uint32_t events) {
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) c_readable_ = true;
  if (events & EPOLLOUT) c_writable_ = true;
  if (client_.tls()) c_readable_ = c_writable_ = true;  // TLS reads may need writes and back
  Pump();
}

void Session::OnBackendEvent(uint32_t events) {
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) b_readable_ = true;
  if (events & EPOLLOUT) b_writable_ = true;
  if (backend_.tls()) b_readable_ = b_writable_ = true;
  Pump();
}

void Session::Pump() {
  for (int round = 0; round < 1000 && phase_ != Phase::kClosed; ++round) {
    if (!PumpOnce()) break;
  }
  if (info_) info_->held.store(held_, std::memory_order_relaxed);
}

bool Session::PumpOnce() {
  bool progress = false;
  if (phase_ == Phase::kLingering) {
    ssize_t n = client_.DiscardInput();
    if (n == Transport::kClosed) Close();
    return n > 0;
  }
  // Client -> proxy.
  bool read_client =
      c_readable_ && !held_ && phase_ != Phase::kTlsHandshake && phase_ != Phase::kClosing;
  if (read_client) {
    char* space = to_backend_.Space();
    size_t room = to_backend_.SpaceSize();
    if (room > 0) {
      ssize_t n = client_.Read(space, room);
      if (n == Transport::kClosed) {
        Close();
        return false;
      }
      if (n > 0) {
        to_backend_.Commit(size_t(n));
        metrics_->Add(Metric::kBytesFromClients, n);
        if (info_) info_->bytes_in.fetch_add(uint64_t(n), std::memory_order_relaxed);
        progress = true;
        // A short plain read drained the socket; the next arrival raises a new edge.
        if (size_t(n) < room && !client_.tls()) c_readable_ = false;
      } else {
        c_readable_ = false;
      }
    }
  }
  if (phase_ == Phase::kTlsHandshake) {
    int r = client_.Handshake();
    if (r < 0) {
      metrics_->Add(Metric::kAuthRejected);
      Close();  // no TLS channel to say anything on
      return false;
    }
    if (r == 1) {
      phase_ = Phase::kStartupTls;
      c_readable_ = true;
      progress = true;
    }
  }
  if (phase_ == Phase::kStartup || phase_ == Phase::kStartupTls) HandleStartupBytes();
  if (phase_ == Phase::kClosed) return false;
  if (phase_ == Phase::kReady) {
    auto out = client_dec_.Scan(to_backend_, client_side_);
    if (out == FrameDecoder::Outcome::kMalformed) {
      metrics_->Add(Metric::kProtocolErrors);
      End("08P01", std::string("pgshift: invalid message from client: ") + client_dec_.error());
      return false;
    }
    if (out == FrameDecoder::Outcome::kClose) {
      Close();
      return false;
    }
  }
  // Proxy -> backend.
  if ((phase_ == Phase::kReady || phase_ == Phase::kMigrating) && backend_.open() && b_writable_ &&
      client_dec_.forwardable() > 0 && !Send(/*to_backend=*/true, progress)) {
    return false;
  }
  // Backend -> proxy.
  if (backend_.open() && b_readable_ && phase_ != Phase::kClosing) {
    char* space = to_client_.Space();
    size_t room = to_client_.SpaceSize();
    if (room > 0) {
      ssize_t n = backend_.Read(space, room);
      if (n == Transport::kClosed) {
        // The server ended the session (e.g. terminated): pass on what it said, then close.
        backend_.Close();
        if (replication_ && !backend_said_error_) {
          // A replication client must learn that it should reconnect, not wonder why.
          (void)ComposeToClient(wire::ErrorResponse(
              "FATAL", "57P01",
              "pgshift: the database server ended this replication connection; reconnect (the "
              "proxy routes new connections to the cluster's current server)"));
        }
        phase_ = Phase::kClosing;
        progress = true;
      } else if (n > 0) {
        to_client_.Commit(size_t(n));
        metrics_->Add(Metric::kBytesFromBackends, n);
        if (info_) info_->bytes_out.fetch_add(uint64_t(n), std::memory_order_relaxed);
        progress = true;
        if (size_t(n) < room && !backend_.tls()) b_readable_ = false;
      } else {
        b_readable_ = false;
      }
    }
    if (backend_.open()) {
      auto out = backend_dec_.Scan(to_client_, backend_side_);
      if (out == FrameDecoder::Outcome::kMalformed) {
        metrics_->Add(Metric::kBackendErrors);
        Close();
        return false;
      }
      if (out == FrameDecoder::Outcome::kClose) {
        DropBackendWhileIdle();
        progress = true;
      }
    }
  }
  if (counted_busy_ && !Busy()) SetCountedBusy(false);
  if (phase_ == Phase::kReady && !replication_ && !Busy() && RouteStale() &&
      backend_dec_.AtBoundary()) {
    StartMigration();
    progress = true;
  }
  // Proxy -> client.
  if (c_writable_ && backend_dec_.forwardable() > 0 && !Send(/*to_backend=*/false, progress)) {
    return false;
  }
  if (phase_ == Phase::kClosing && backend_dec_.forwardable() == 0) {
    Linger();
    return true;
  }
  return progress;
}

bool Session::Send(bool to_backend, bool& progress) {
  Transport& peer = to_backend ? backend_ : client_;
  if (worker_.batched_sends() && !peer.tls()) {
    bool& queued = to_backend ? to_backend_queued_ : to_client_queued_;
    if (!queued) {
      queued = true;
      worker_.QueueSend(this, to_backend);
    }
    return true;
  }
  const ByteBuffer& buffer = to_backend ? to_backend_ : to_client_;
  size_t n = to_backend ? client_dec_.forwardable() : backend_dec_.forwardable();
  ssize_t sent = peer.Write(buffer.data(), n);
  if (sent == Transport::kClosed) {
    PeerLost(to_backend);
    return false;
  }
  if (sent > 0) {
    Sent(to_backend, size_t(sent));
    progress = true;
  } else {
    (to_backend ? b_writable_ : c_writable_) = false;
  }
  return true;
}

void Session::Sent(bool to_backend, size_t n) {
  if (to_backend) {
    to_backend_.Consume(n);
    client_dec_.Forwarded(n);
  } else {
    to_client_.Consume(n);
    backend_dec_.Forwarded(n);
  }
}

void Session::PeerLost(bool to_backend) {
  if (to_backend) return End("08006", "pgshift: the connection to the database server was lost");
  Close();
}

bool Session::TakeSend(bool to_backend, int& fd, const char*& data, size_t& len, bool& more_after) {
  bool& queued = to_backend ? to_backend_queued_ : to_client_queued_;
  Transport& peer = to_backend ? backend_ : client_;
  ByteBuffer& buffer = to_backend ? to_backend_ : to_client_;
  size_t n = to_backend ? client_dec_.forwardable() : backend_dec_.forwardable();
  // The backend may have gone (or the session ended) since the send was queued.
  if (phase_ == Phase::kClosed || !peer.open() || peer.tls() || n == 0) {
    queued = false;
    return false;
  }
  // Taken now, not when queued: the buffer may have compacted or grown since.
  fd = peer.fd();
  data = buffer.data();
  len = n;
  more_after = phase_ == Phase::kClosing || (to_backend ? c_readable_ : b_readable_);
  return true;
}

void Session::OnSendDone(bool to_backend, int result) {
  (to_backend ? to_backend_queued_ : to_client_queued_) = false;
  if (phase_ == Phase::kClosed) return;
  if (result == -EAGAIN || result == -EWOULDBLOCK) {
    (to_backend ? b_writable_ : c_writable_) = false;  // the next EPOLLOUT edge resumes
  } else if (result < 0 && result != -EINTR) {
    return PeerLost(to_backend);
  } else if (result > 0) {
    Sent(to_backend, size_t(result));
  }
  Pump();
}

Verdict Session::OnClientMessage(char type, std::string_view msg, bool complete) {
  if (replication_) {
    // Never held, never moved, never counted busy: see replication_startup.h.
    if (type == 'Q') metrics_->Add(Metric::kQueries);
    return Verdict::kForward;
  }
  if (!Busy()) {
    // This message starts new work: the point where a pause or a switch takes effect.
    if (RouteStale() || (backend_lost_ && !cluster_->paused.load())) {
      held_ = true;
      StartMigration();
      return Verdict::kHold;
    }
    SetCountedBusy(true);  // before reading `paused`: see cluster_control.h
    if (cluster_->paused.load()) {
      SetCountedBusy(false);
      held_ = true;
      return Verdict::kHold;
    }
  }
  switch (type) {
    case 'Q':
      ++pending_sync_;
      metrics_->Add(Metric::kQueries);
      if (complete)
        carried_.OnQuery(msg);
      else
        carried_.OnUninspectable();
      break;
    case 'S':
      ++pending_sync_;
      unsynced_ = 0;
      metrics_->Add(Metric::kQueries);
      break;
    case 'F':
      ++pending_sync_;
      break;
    case 'P':
      ++unsynced_;
      if (complete)
        carried_.OnParse(msg);
      else
        carried_.OnUninspectable();
      break;
    case 'C':
      ++unsynced_;
      if (complete) carried_.OnClose(msg);
      break;
    case 'd':
    case 'c':
    case 'f':
      break;  // COPY data belongs to the statement already counted
    default:
      ++unsynced_;
  }
  if (info_ && carried_.pinned()) info_->pinned.store(true, std::memory_order_relaxed);
  return Verdict::kForward;
}

Verdict Session::OnBackendMessage(char type, std::string_view msg, bool complete) {
  if (replication_) {
    backend_said_error_ = type == 'E';
    return Verdict::kForward;  // the client must see the end of its walsender
  }
  // A server terminating an idle session while its cluster is paused is the cutover's fence
  // at work (admin_shutdown, 57P01): the client must not see it. The message is not
  // forwarded; the session logs in again when traffic resumes.
  if (type == 'E' && complete && !Busy() && cluster_ && cluster_->paused.load() &&
      msg.find("C57P01") != std::string_view::npos) {
    return Verdict::kClose;
  }
  if (type == 'Z' && complete && msg.size() >= 6) {
    char status = msg[5];
    if (status == 'I' && tx_ != 'I') metrics_->Add(Metric::kTransactions);
    tx_ = status;
    if (pending_sync_ > 0) --pending_sync_;
    if (info_) info_->tx_status.store(status, std::memory_order_relaxed);
  }
  return Verdict::kForward;
}

void Session::SetCountedBusy(bool busy) {
  if (busy == counted_busy_ || !cluster_) return;
  counted_busy_ = busy;
  if (busy)
    cluster_->busy.fetch_add(1);
  else
    cluster_->busy.fetch_sub(1);
  if (info_) info_->busy.store(busy, std::memory_order_relaxed);
}

void Session::DropBackendWhileIdle() {
  to_client_.Truncate(backend_dec_.forwardable());  // drop the unsaid termination notice
  worker_.Unwatch(backend_.fd());
  backend_.Close();
  b_readable_ = b_writable_ = false;
  backend_lost_ = true;
  if (info_) info_->backend_pid.store(0);
}

bool Session::RouteStale() const {
  return cluster_ && cluster_->route_version.load(std::memory_order_acquire) > route_version_;
}

bool Session::ComposeToClient(const std::string& bytes) {
  // Only between whole backend messages, or the client would see a spliced stream.
  if (!backend_dec_.AtBoundary() || backend_dec_.forwardable() != to_client_.size()) return false;
  if (!to_client_.Append(bytes)) return false;
  backend_dec_.Injected(bytes.size());
  return true;
}

void Session::HandleStartupBytes() {
  if (to_backend_.size() < 4) return;
  const char* p = to_backend_.data();
  uint32_t len = wire::ReadU32(p);
  if (len < 8 || len > wire::kMaxStartupLength) {
    metrics_->Add(Metric::kProtocolErrors);
    return Reject("08P01", "pgshift: invalid startup packet length");
  }
  if (to_backend_.size() < len) return;
  uint32_t code = wire::ReadU32(p + 4);
  bool extra = to_backend_.size() > len;
  if (code == uint32_t(wire::kSslRequestCode) || code == uint32_t(wire::kGssEncRequestCode)) {
    if (len != 8 || phase_ == Phase::kStartupTls || extra) {
      // Bytes pipelined after SSLRequest would be read as if encrypted (CVE-2021-23214).
      metrics_->Add(Metric::kProtocolErrors);
      return Reject("08P01", "pgshift: unexpected data with an encryption request");
    }
    to_backend_.Consume(len);
    bool tls = code == uint32_t(wire::kSslRequestCode) && ctx_.config.client_tls;
    char answer = tls ? 'S' : 'N';
    if (client_.Write(&answer, 1) != 1) return Close();
    if (tls) {
      client_.StartServerTls(ctx_.client_tls.get());
      phase_ = Phase::kTlsHandshake;
    }
    return;
  }
  if (code == uint32_t(wire::kCancelRequestCode)) {
    if (len != 16) return Reject("08P01", "pgshift: invalid cancel request");
    ProxyKey key{wire::ReadU32(p + 8), wire::ReadU32(p + 12)};
    if (auto target = ctx_.cancels.Find(key)) {
      ctx_.metrics.For(target->cluster).Add(Metric::kCancels);
      int timeout = ctx_.config.connect_timeout_ms;
      ctx_.pool->Submit([t = *target, timeout] {
        (void)SendCancelRequest(t.endpoint, t.pid, t.secret, timeout);
      });
    }
    return Close();  // as PostgreSQL: no reply either way
  }
  std::map<std::string, std::string> params;
  if (!wire::ParseStartupParams(std::string_view(p + 4, len - 4), params)) {
    metrics_->Add(Metric::kProtocolErrors);
    return Reject("08P01", "pgshift: unsupported protocol version or malformed startup packet");
  }
  to_backend_.Consume(len);
  if (extra) {
    metrics_->Add(Metric::kProtocolErrors);
    return Reject("08P01", "pgshift: data sent before authentication completed");
  }
  Admit(std::move(params));
}

void Session::Admit(std::map<std::string, std::string> params) {
  ClientCredentials credentials;
  credentials.over_tls = phase_ == Phase::kStartupTls;
  if (ctx_.config.client_tls && credentials.over_tls) {
    credentials.identity = VerifiedClientIdentity(client_.ssl());
  }
  AdmissionDecision decision = DecideAdmission(ctx_.config, credentials, params);
  if (!decision.admitted()) return Reject(decision.sqlstate, decision.message);
  replication_ = decision.replication == ReplicationMode::kLogical;
  identity_ = std::move(decision.identity);
  cluster_config_ = decision.cluster;
  cluster_ = ctx_.Cluster(decision.database);
  metrics_ = &cluster_->metrics;
  startup_params_ = std::move(params);
  if (cluster_->paused.load()) {
    phase_ = Phase::kWaitResume;  // logging in to a fenced source would fail: wait
    return;
  }
  StartLogin();
}

std::shared_ptr<BackendLogin> Session::LoginJob(const Endpoint& endpoint) const {
  auto job = std::make_shared<BackendLogin>();
  job->cluster = cluster_->name;
  job->endpoint = endpoint;
  job->database = cluster_config_->database;
  job->user = cluster_config_->user;
  job->password = cluster_config_->password;
  job->timeout_ms = ctx_.config.connect_timeout_ms;
  for (const auto& [k, v] : startup_params_) {
    if (k != "user" && k != "database") job->options[k] = v;
  }
  return job;
}

void Session::StartLogin() {
  phase_ = Phase::kConnecting;
  auto job = LoginJob(ctx_.routes.Get()->routes.at(cluster_->name));
  Worker* w = &worker_;
  uint64_t id = id_;
  SSL_CTX* tls = ctx_.backend_tls.get();
  ctx_.pool->Submit([w, id, tls, job] {
    auto result = std::make_shared<Result<BackendLink>>(LoginToBackend(*job, tls));
    Endpoint ep = job->endpoint;
    w->Post([id, result, ep](Worker& worker) {
      if (Session* s = worker.Find(id)) s->OnBackendLogin(std::move(*result), ep);
    });
  });
}

void Session::StartMigration() {
  if (carried_.pinned()) {
    metrics_->Add(Metric::kSessionsEndedOnSwitch);
    return End("57P01", "pgshift: database \"" + cluster_->name +
                            "\" moved to a new server and this session held " +
                            carried_.pin_reason() + ", which cannot be carried over; reconnect");
  }
  phase_ = Phase::kMigrating;
  held_ = true;
  auto job = LoginJob(ctx_.routes.Get()->routes.at(cluster_->name));
  job->replay_sql = carried_.SetStatements();
  job->replay_parse = carried_.ParseMessages();
  job->custom_settings.assign(carried_.CustomSettingNames().begin(),
                              carried_.CustomSettingNames().end());
  Worker* w = &worker_;
  uint64_t id = id_;
  SSL_CTX* tls = ctx_.backend_tls.get();
  std::shared_ptr<BackendLink> standby;
  if (HasStandbyLinkTo(job->endpoint)) {
    standby = std::make_shared<BackendLink>(std::move(*standby_));
    metrics_->Add(Metric::kStandbyLinksUsed);
  }
  standby_.reset();
  if (info_) info_->standby.store(SessionInfo::kNoStandby);
  // The old backend, idle, answers what the session has set; the connector task owns it until
  // it hands it back to be retired.
  std::shared_ptr<Transport> old;
  if (backend_.open()) {
    worker_.Unwatch(backend_.fd());
    old = std::make_shared<Transport>(std::move(backend_));
    b_readable_ = b_writable_ = false;
  }
  ctx_.pool->Submit([w, id, tls, job, standby, old] {
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
}

void Session::PrepareStandby(const Endpoint& endpoint) {
  if (standby_opening_) return;  // its completion reports the state
  if (replication_ || phase_ != Phase::kReady) {
    if (info_) info_->standby.store(SessionInfo::kNoStandby);  // logs in at the switch
    return;
  }
  if (HasStandbyLinkTo(endpoint)) {
    if (info_) info_->standby.store(SessionInfo::kStandbyOpen);
    return;
  }
  standby_.reset();
  standby_opening_ = true;
  if (info_) info_->standby.store(SessionInfo::kStandbyOpening);
  auto job = LoginJob(endpoint);
  job->warm_up_sql = kWarmUpSql;
  Worker* w = &worker_;
  uint64_t id = id_;
  SSL_CTX* tls = ctx_.backend_tls.get();
  ctx_.pool->Submit([w, id, tls, job] {
    auto result = std::make_shared<Result<BackendLink>>(LoginToBackend(*job, tls));
    Endpoint ep = job->endpoint;
    w->Post([id, result, ep](Worker& worker) {
      if (Session* s = worker.Find(id)) s->OnStandbyLogin(std::move(*result), ep);
    });
  });
}

bool Session::HasStandbyLinkTo(const Endpoint& endpoint) const {
  return standby_ && standby_endpoint_.host == endpoint.host &&
         standby_endpoint_.port == endpoint.port;
}

void Session::CloseRetiredBackend(std::chrono::steady_clock::time_point now) {
  if (!retired_.open() || cluster_->paused.load()) return;
  // The grace starts at the first look after the resume: the resume's kick, or the sweep for
  // a session that finished moving after that kick.
  if (retire_at_ == std::chrono::steady_clock::time_point{})
    retire_at_ = now + kRetiredBackendGrace;
  if (now < retire_at_) return;
  static constexpr char kTerminate[] = {'X', 0, 0, 0, 4};
  (void)retired_.Write(kTerminate, sizeof(kTerminate));  // a clean exit, not an EOF in its log
  retired_.Close();
}

void Session::OnStandbyLogin(Result<BackendLink> link, Endpoint endpoint) {
  standby_opening_ = false;
  if (!link.ok()) {
    spdlog::info("proxy session {}: no standby link: {}", id_, link.status().message());
    if (info_) info_->standby.store(SessionInfo::kStandbyFailed);
    return;
  }
  standby_ = std::move(*link);
  standby_endpoint_ = endpoint;
  if (info_) info_->standby.store(SessionInfo::kStandbyOpen);
}

void Session::OnBackendLogin(Result<BackendLink> link, Endpoint endpoint, Transport old) {
  if (phase_ != Phase::kConnecting && phase_ != Phase::kMigrating) return;
  bool migrating = phase_ == Phase::kMigrating;
  if (!link.ok()) {
    metrics_->Add(Metric::kBackendErrors);
    spdlog::warn("proxy session {}: {}", id_, link.status().ToString());
    if (migrating) {
      metrics_->Add(Metric::kSessionsEndedOnSwitch);
      return End("08006",
                 "pgshift: database \"" + cluster_->name +
                     "\" moved to a new server and this session could not be carried over; "
                     "reconnect");
    }
    if (link.status().code() == Code::kUnauthenticated) {
      // Not the client's fault and not transient: say so, without the server's words (they
      // name the backend role and host; the proxy's log has them).
      return End("08004", "pgshift: the database server of \"" + cluster_->name +
                              "\" refused the proxy's login (the proxy's credential for it is "
                              "wrong or not allowed there); see the proxy's log");
    }
    return End("08006", "pgshift: cannot reach the database server of \"" + cluster_->name +
                            "\" right now; try again");
  }
  BackendLink& l = *link;
  if (old.open()) retired_ = std::move(old);
  if (backend_.open()) {
    worker_.Unwatch(backend_.fd());
    if (migrating) retired_ = std::move(backend_);
  }
  backend_ = std::move(l.transport);
  b_readable_ = b_writable_ = true;
  worker_.Watch(backend_.fd(), &backend_tag_);
  endpoint_ = endpoint;
  route_version_ = endpoint.version;
  backend_lost_ = false;
  CancelTarget target{cluster_->name, endpoint, l.pid, l.secret};
  tx_ = 'I';
  if (migrating) {
    ctx_.cancels.Update(key_, target);
    metrics_->Add(Metric::kSessionsMoved);
  } else {
    key_ = ctx_.cancels.Issue(target);
    key_issued_ = true;
    std::string hello = wire::AuthenticationOk();
    for (const auto& [k, v] : l.parameters) hello += wire::ParameterStatus(k, v);
    hello += wire::BackendKeyData(key_.pid, key_.secret);
    hello += wire::ReadyForQuery('I');
    if (!ComposeToClient(hello)) return Close();
    info_ = std::make_shared<SessionInfo>();
    info_->id = id_;
    info_->cluster = cluster_->name;
    info_->database = startup_params_["database"];
    info_->user = startup_params_["user"];
    info_->identity = identity_;
    info_->client = peer_;
    info_->started_unix = Clock::Real().WallSeconds();
    info_->replication = replication_;
    ctx_.sessions.Add(info_);
    metrics_->Add(Metric::kSessionsOpened);
    metrics_->Add(Metric::kSessionsActive);
    if (replication_) {
      metrics_->Add(Metric::kReplicationSessionsOpened);
      metrics_->Add(Metric::kReplicationSessionsActive);
    }
  }
  info_->route_version.store(route_version_);
  info_->backend_pid.store(l.pid);
  phase_ = Phase::kReady;
  held_ = false;
  Pump();
}

void Session::OnKick() {
  if (phase_ == Phase::kWaitResume) {
    if (!cluster_->paused.load()) StartLogin();
    return;
  }
  if (phase_ != Phase::kReady) return;
  held_ = false;
  CloseRetiredBackend(std::chrono::steady_clock::now());
  if (standby_ && !cluster_->paused.load() && !RouteStale()) {
    standby_.reset();  // traffic resumed where it was (a rollback): the standby is not needed
    if (info_) info_->standby.store(SessionInfo::kNoStandby);
  }
  if (!replication_ && !Busy() && RouteStale()) {
    StartMigration();
    return;
  }
  Pump();
}

void Session::CheckLoginDeadline(std::chrono::steady_clock::time_point now,
                                 std::chrono::seconds limit) {
  bool before_login =
      phase_ == Phase::kStartup || phase_ == Phase::kTlsHandshake || phase_ == Phase::kStartupTls;
  if (phase_ == Phase::kLingering && now - lingering_since_ > std::chrono::seconds(5))
    return Close();
  if (before_login && now - created_ > limit) {
    metrics_->Add(Metric::kProtocolErrors);
    if (phase_ == Phase::kTlsHandshake) return Close();
    Reject("08P01", "pgshift: the startup did not complete in time");
  }
}

void Session::Reject(const char* sqlstate, const std::string& message) {
  metrics_->Add(Metric::kAuthRejected);
  spdlog::info("proxy session {} from {} refused: {}", id_, peer_, message);
  End(sqlstate, message);
}

void Session::End(const char* sqlstate, const std::string& message) {
  if (backend_.open()) {
    worker_.Unwatch(backend_.fd());
    backend_.Close();
  }
  if (!ComposeToClient(wire::ErrorResponse("FATAL", sqlstate, message))) return Close();
  phase_ = Phase::kClosing;
  held_ = true;
  c_writable_ = true;
  Pump();
}

void Session::Linger() {
  if (backend_.open()) {
    worker_.Unwatch(backend_.fd());
    backend_.Close();
  }
  client_.ShutdownWrite();
  phase_ = Phase::kLingering;
  lingering_since_ = std::chrono::steady_clock::now();
}

void Session::Close() {
  if (phase_ == Phase::kClosed) return;
  Release();
  worker_.Retire(this);
}

void Session::Release() {
  if (phase_ == Phase::kClosed) return;
  phase_ = Phase::kClosed;
  SetCountedBusy(false);
  if (client_.open()) {
    worker_.Unwatch(client_.fd());
    client_.Close();
  }
  if (backend_.open()) {
    worker_.Unwatch(backend_.fd());
    backend_.Close();
  }
  retired_.Close();
  if (key_issued_) ctx_.cancels.Remove(key_);
  if (info_) {
    ctx_.sessions.Remove(id_);
    metrics_->Add(Metric::kSessionsActive, -1);
    if (replication_) metrics_->Add(Metric::kReplicationSessionsActive, -1);
    info_.reset();
  }
}

}  // namespace pgshift::proxy
