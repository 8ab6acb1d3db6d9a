// Session protocol logic: startup, forwarding decisions, pause holding, when to switch.
#include "proxy/session.h"

#include <algorithm>

#include "common/clock.h"
#include "common/log.h"
#include "proxy/admission.h"
#include "proxy/backend_reset.h"
#include "proxy/proxy_context.h"

namespace pgshift::proxy {

Session::Session(Worker& worker, uint64_t id, int client_fd, std::string peer)
    : worker_(worker),
      ctx_(worker.ctx()),
      id_(id),
      peer_(std::move(peer)),
      pump_(client_fd, worker.ctx().config.buffer_bytes) {
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
  pump_.OnClientEvent(events);
  Pump();
}

void Session::OnBackendEvent(uint32_t events) {
  pump_.OnBackendEvent(events);
  Pump();
}

void Session::Pump() {
  for (int round = 0; round < 1000 && stage_ != Stage::kClosed; ++round) {
    if (!PumpOnce()) break;
  }
  if (info_) info_->held.store(held_, std::memory_order_relaxed);
}

bool Session::PumpOnce() {
  bool progress = false;
  Transport& client = pump_.client();
  Transport& backend = pump_.backend();
  if (stage_ == Stage::kLingering) {
    ssize_t n = client.DiscardInput();
    if (n == Transport::kClosed) Close();
    return n > 0;
  }
  if (stage_ == Stage::kWritingThrough && fence_write_through_inline_) {
    // The work that started the write-through follows it to the backend; only the answer is
    // read until its ReadyForQuery (what follows it answers the work: the pump's).
    if (pump_.backend_writable() && pump_.to_backend_pending() > 0 &&
        !Send(/*to_backend=*/true, progress)) {
      return false;
    }
    if (!pump_.backend_readable()) return progress;
    return ReadFenceWriteThroughAnswer() || progress;
  }
  // Client -> proxy.
  if (pump_.client_readable() && !held_ && stage_ != Stage::kTlsHandshake &&
      stage_ != Stage::kClosing) {
    ssize_t n = pump_.ReadClient();
    if (n == Transport::kClosed) {
      Close();
      return false;
    }
    if (n > 0) {
      metrics_->Add(Metric::kBytesFromClients, n);
      if (info_) info_->bytes_in.fetch_add(uint64_t(n), std::memory_order_relaxed);
      progress = true;
    }
  }
  if (stage_ == Stage::kTlsHandshake) {
    int r = client.Handshake();
    if (r < 0) {
      metrics_->Add(Metric::kTlsHandshakeFailures);
      spdlog::info("proxy session {} from {}: TLS handshake failed", id_, peer_);
      Close();  // no TLS channel to say anything on
      return false;
    }
    if (r == 1) {
      stage_ = Stage::kStartupTls;
      pump_.ClientMayHaveInput();
      progress = true;
    }
  }
  if (stage_ == Stage::kStartup || stage_ == Stage::kStartupTls) HandleStartupBytes();
  if (stage_ == Stage::kClosed) return false;
  if (stage_ == Stage::kReady) {
    auto out = pump_.ScanFromClient(client_side_);
    if (out == FrameDecoder::Outcome::kMalformed) {
      metrics_->Add(Metric::kProtocolErrors);
      End("08P01", std::string("pgshift: invalid message from client: ") + pump_.client_error());
      return false;
    }
    if (out == FrameDecoder::Outcome::kClose) {
      if (carried_.over_limit()) {
        // The message that passed the cap was not forwarded; the backend goes with the session.
        metrics_->Add(Metric::kSessionsOverLimit);
        spdlog::info("proxy session {} from {} ended: {}", id_, peer_, carried_.limit_error());
        End("54000", "pgshift: " + carried_.limit_error() + "; reconnect");
        return false;
      }
      Close();
      return false;
    }
  }
  // Proxy -> backend.
  if ((stage_ == Stage::kReady || stage_ == Stage::kMoving) && backend.open() &&
      pump_.backend_writable() && pump_.to_backend_pending() > 0 &&
      !Send(/*to_backend=*/true, progress)) {
    return false;
  }
  // Backend -> proxy. Not while a write-through just started in this round: its answer is
  // ReadFenceWriteThroughAnswer's.
  if (backend.open() && pump_.backend_readable() && stage_ != Stage::kClosing &&
      stage_ != Stage::kWritingThrough) {
    ssize_t n = pump_.ReadBackend();
    if (n == Transport::kClosed) {
      // The server ended the session (e.g. terminated): pass on what it said, then close.
      backend.Close();
      if (replication_ && !backend_said_error_) {
        // A replication client must learn that it should reconnect, not wonder why.
        (void)pump_.ComposeToClient(wire::ErrorResponse(
            "FATAL", "57P01",
            "pgshift: the database server ended this replication connection; reconnect (the "
            "proxy routes new connections to the cluster's current server)"));
      }
      stage_ = Stage::kClosing;
      progress = true;
    } else if (n > 0) {
      metrics_->Add(Metric::kBytesFromBackends, n);
      if (info_) info_->bytes_out.fetch_add(uint64_t(n), std::memory_order_relaxed);
      progress = true;
    }
    if (backend.open()) {
      auto out = pump_.ScanFromBackend(backend_side_);
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
  if (work_.counted && !Busy()) SetCountedBusy(false);
  if (stage_ == Stage::kReady && !replication_ && !Busy() && RouteStale() &&
      pump_.backend_at_boundary()) {
    StartMove();
    progress = true;
  }
  // Proxy -> client.
  if (pump_.client_writable() && pump_.to_client_pending() > 0 &&
      !Send(/*to_backend=*/false, progress)) {
    return false;
  }
  if (stage_ == Stage::kClosing && pump_.to_client_pending() == 0) {
    Linger();
    return true;
  }
  return progress;
}

bool Session::Send(bool to_backend, bool& progress) {
  bool batched = worker_.batched_sends();
  switch (to_backend ? pump_.SendToBackend(batched) : pump_.SendToClient(batched)) {
    case MessagePump::Send::kQueue:
      worker_.QueueSend(this, to_backend);
      return true;
    case MessagePump::Send::kPeerLost:
      PeerLost(to_backend);
      return false;
    case MessagePump::Send::kSent:
      progress = true;
      return true;
    case MessagePump::Send::kNone:
      return true;
  }
  return true;
}

void Session::PeerLost(bool to_backend) {
  if (to_backend) return End("08006", "pgshift: the connection to the database server was lost");
  Close();
}

bool Session::TakeSend(bool to_backend, int& fd, const char*& data, size_t& len, bool& more_after) {
  // The session may have ended since the send was queued (then its sockets are closed).
  if (!pump_.TakeSend(to_backend, fd, data, len, more_after) || stage_ == Stage::kClosed) {
    return false;
  }
  more_after = more_after || stage_ == Stage::kClosing;
  return true;
}

void Session::OnSendDone(bool to_backend, int result) {
  MessagePump::Send done = pump_.SendDone(to_backend, result);
  if (stage_ == Stage::kClosed) return;
  if (done == MessagePump::Send::kPeerLost) return PeerLost(to_backend);
  Pump();
}

MessageAction Session::OnClientMessage(char type, std::string_view msg, bool complete) {
  namespace t = wire::type;
  if (replication_) {
    if (!ReplicationMessageAllowed(type, msg, complete, replication_sql_allowed_)) {
      metrics_->Add(Metric::kReplicationMessagesRefused);
      spdlog::info(
          "proxy session {} from {} ({}): ended: message '{}' is not a replication command", id_,
          peer_, EscapedForLog(identity_), EscapedForLog(std::string(1, type)));
      End("42501",
          "pgshift: only replication commands may be sent over this replication connection");
      return MessageAction::kHold;  // never forwarded: the session is closing
    }
    // Never held, never moved, never counted busy: see replication_startup.h.
    if (type == t::kQuery) metrics_->Add(Metric::kQueries);
    return MessageAction::kForward;
  }
  // The client's goodbye is the pool's to act on: the backend it had may serve the next
  // session (Close -> ReturnBackendToPool), so it must not hear the Terminate.
  if (type == t::kTerminate && ctx_.backend_pool.enabled()) return MessageAction::kClose;
  if (!Busy()) {
    // This message starts new work: the point where a pause or a switch takes effect.
    if (RouteStale() || (move_.backend_lost() && !cluster_->paused.load())) {
      held_ = true;
      StartMove();
      return MessageAction::kHold;
    }
    // The first work after a resume confirmed the route: turn read-only off first (a no-op
    // on a server without the target fence). While the route is not confirmed the work goes
    // as is and, on a fenced target, fails read-only.
    if (fence_write_through_due_ && type != t::kTerminate && !cluster_->paused.load() &&
        RouteConfirmed() && StartFenceWriteThrough() == WriteThrough::kHeld) {
      return MessageAction::kHold;
    }
    SetCountedBusy(true);  // before reading `paused`: see cluster_control.h
    if (cluster_->paused.load()) {
      SetCountedBusy(false);
      held_ = true;
      return MessageAction::kHold;
    }
    fence_write_through_plain_ = false;  // this work goes to the backend and may set it
  }
  switch (type) {
    case t::kQuery:
      ++work_.pending_sync;
      carried_.OnSyncPoint();
      metrics_->Add(Metric::kQueries);
      if (complete)
        carried_.OnQuery(msg);
      else
        carried_.OnUninspectable();
      break;
    case t::kSync:
      ++work_.pending_sync;
      carried_.OnSyncPoint();
      work_.unsynced = 0;
      metrics_->Add(Metric::kQueries);
      break;
    case t::kFunctionCall:
      ++work_.pending_sync;
      carried_.OnSyncPoint();
      break;
    case t::kParse:
      ++work_.unsynced;
      if (complete)
        carried_.OnParse(msg);
      else
        carried_.OnUninspectable();
      break;
    case t::kClose:
      ++work_.unsynced;
      if (complete) carried_.OnClose(msg);
      break;
    case t::kCopyData:
    case t::kCopyDone:
    case t::kCopyFail:
      break;  // COPY data belongs to the statement already counted
    default:
      ++work_.unsynced;
  }
  if (info_ && carried_.pinned()) info_->pinned.store(true, std::memory_order_relaxed);
  if (carried_.over_limit()) return MessageAction::kClose;  // PumpOnce says which limit
  return MessageAction::kForward;
}

MessageAction Session::OnBackendMessage(char type, std::string_view msg, bool complete) {
  if (replication_) {
    backend_said_error_ = type == wire::type::kErrorResponse;
    return MessageAction::kForward;  // the client must see the end of its walsender
  }
  // A server terminating an idle session while its cluster is paused is the cutover's fence
  // at work (admin_shutdown, 57P01): the client must not see it. The message is not
  // forwarded; the session logs in again when traffic resumes.
  if (type == wire::type::kErrorResponse && complete && !Busy() && cluster_ &&
      cluster_->paused.load() && wire::HasSqlstate(msg, "57P01")) {
    return MessageAction::kClose;
  }
  if (type == wire::type::kParseComplete) carried_.OnParseComplete();  // the backend kept it
  if (type == wire::type::kReadyForQuery && complete) {
    carried_.OnReadyForQuery();
    if (char status = wire::ReadyForQueryStatus(msg)) {
      if (status == wire::kTxIdle && work_.tx != wire::kTxIdle) {
        metrics_->Add(Metric::kTransactions);
      }
      work_.tx = status;
      if (work_.pending_sync > 0) --work_.pending_sync;
      if (info_) info_->tx_status.store(status, std::memory_order_relaxed);
    }
  }
  return MessageAction::kForward;
}

void Session::SetCountedBusy(bool busy) {
  if (busy == work_.counted || !cluster_) return;
  work_.counted = busy;
  if (busy)
    cluster_->busy.fetch_add(1);
  else
    cluster_->busy.fetch_sub(1);
  if (info_) info_->busy.store(busy, std::memory_order_relaxed);
}

void Session::DropBackendWhileIdle() {
  pump_.DropUndecidedFromBackend();  // drop the unsaid termination notice
  (void)DetachBackend();             // closed as it goes out of scope
  move_.BackendLost();
  if (info_) info_->backend_pid.store(0);
}

void Session::CloseBackend() {
  if (!pump_.backend().open()) return;
  worker_.Unwatch(pump_.backend().fd());
  pump_.backend().Close();
}

Transport Session::DetachBackend() {
  if (pump_.backend().open()) worker_.Unwatch(pump_.backend().fd());
  return pump_.DetachBackend();
}

void Session::ReportStandby(SessionInfo::StandbyState state) {
  if (info_) info_->standby.store(state);
}

bool Session::RouteStale() const {
  return cluster_ && cluster_->route_version.load(std::memory_order_acquire) > route_version_;
}

void Session::HandleStartupBytes() {
  using Kind = wire::StartupPacket::Kind;
  std::string_view input = pump_.startup_input();
  wire::StartupPacket packet = wire::ReadStartupPacket(input);
  if (packet.kind == Kind::kIncomplete) return;
  if (packet.kind == Kind::kBadLength) {
    metrics_->Add(Metric::kProtocolErrors);
    return Reject("08P01", "pgshift: invalid startup packet length");
  }
  bool extra = input.size() > packet.length;
  if (packet.kind == Kind::kSslRequest || packet.kind == Kind::kGssEncRequest) {
    if (packet.length != 8 || stage_ == Stage::kStartupTls || extra) {
      // Bytes pipelined after SSLRequest would be read as if encrypted (CVE-2021-23214).
      metrics_->Add(Metric::kProtocolErrors);
      return Reject("08P01", "pgshift: unexpected data with an encryption request");
    }
    pump_.ConsumeStartupInput(packet.length);
    bool tls = packet.kind == Kind::kSslRequest && ctx_.config.client_tls;
    char answer = tls ? wire::kEncryptionAccepted : wire::kEncryptionRefused;
    if (pump_.client().Write(&answer, 1) != 1) return Close();
    if (tls) {
      pump_.client().StartServerTls(ctx_.client_tls.get());
      stage_ = Stage::kTlsHandshake;
    }
    return;
  }
  if (packet.kind == Kind::kCancelRequest) {
    ProxyKey key;
    if (!wire::ReadCancelKey(packet.body, key.pid, key.secret)) {
      metrics_->Add(Metric::kProtocolErrors);
      return Reject("08P01", "pgshift: invalid cancel request");
    }
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
  if (!wire::ParseStartupParams(packet.body, params)) {
    metrics_->Add(Metric::kProtocolErrors);
    return Reject("08P01", "pgshift: unsupported protocol version or malformed startup packet");
  }
  pump_.ConsumeStartupInput(packet.length);
  if (extra) {
    metrics_->Add(Metric::kProtocolErrors);
    return Reject("08P01", "pgshift: data sent before authentication completed");
  }
  Admit(std::move(params));
}

void Session::Admit(std::map<std::string, std::string> params) {
  ClientCredentials credentials;
  credentials.over_tls = stage_ == Stage::kStartupTls;
  if (ctx_.config.client_tls && credentials.over_tls) {
    credentials.identity = VerifiedClientIdentity(pump_.client().ssl());
  }
  AdmissionDecision decision = DecideAdmission(ctx_.config, credentials, params);
  if (!decision.admitted()) {
    metrics_->Add(Metric::kAuthRejected);
    if (decision.replication_refused) metrics_->Add(Metric::kReplicationRefused);
    return Reject(decision.sqlstate, decision.message);
  }
  connection_slot_.Authenticated();  // no longer a pending handshake of its address
  replication_ = decision.replication == ReplicationMode::kLogical;
  replication_sql_allowed_ = decision.identity_allows_replication;
  identity_ = std::move(decision.identity);
  cluster_config_ = decision.cluster;
  cluster_ = ctx_.Cluster(decision.database);
  metrics_ = &cluster_->metrics;
  startup_params_ = std::move(params);
  if (cluster_->paused.load()) {
    stage_ = Stage::kWaitResume;  // logging in to a fenced source would fail: wait
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
  job->auth = cluster_config_->auth;
  job->timeout_ms = ctx_.config.connect_timeout_ms;
  for (const auto& [k, v] : startup_params_) {
    if (k != "user" && k != "database") job->options[k] = v;
  }
  return job;
}

PoolKey Session::PoolKeyOf() const {
  PoolKey key{cluster_->name, cluster_config_->user, cluster_config_->database, {}};
  for (const auto& [k, v] : startup_params_) {
    if (k != "user" && k != "database") key.options[k] = v;
  }
  return key;
}

bool Session::LoginFromPool(const Endpoint& endpoint) {
  if (replication_ || !ctx_.backend_pool.enabled()) return false;
  std::optional<BackendLink> link = ctx_.backend_pool.Take(PoolKeyOf(), endpoint.version);
  if (!link) return false;
  // Completed from the loop, as a login from the connector pool is: this may run inside a
  // pump round, which OnBackendLogin must not re-enter.
  auto result = std::make_shared<Result<BackendLink>>(std::move(*link));
  uint64_t id = id_;
  worker_.Post([id, result, endpoint](Worker& worker) {
    if (Session* s = worker.Find(id)) {
      s->OnBackendLogin(std::move(*result), endpoint);
    } else if (result->ok()) {
      CloseBackendLink(**result);  // the client left meanwhile: its state is clean, but rare
    }
  });
  return true;
}

void Session::StartLogin() {
  stage_ = Stage::kConnecting;
  Endpoint endpoint = ctx_.routes.Get()->routes.at(cluster_->name);
  if (LoginFromPool(endpoint)) return;
  auto job = LoginJob(endpoint);
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

void Session::StartMove() {
  if (carried_.pinned()) {
    metrics_->Add(Metric::kSessionsEndedOnSwitch);
    return End("57P01", "pgshift: database \"" + cluster_->name +
                            "\" moved to a new server and this session held " +
                            carried_.pin_reason() + ", which cannot be carried over; reconnect");
  }
  stage_ = Stage::kMoving;
  held_ = true;
  auto job = LoginJob(ctx_.routes.Get()->routes.at(cluster_->name));
  job->replay_sql = carried_.SetStatements();
  job->replay_parse = carried_.ParseMessages();
  job->custom_settings.assign(carried_.CustomSettingNames().begin(),
                              carried_.CustomSettingNames().end());
  if (move_.StartSwitch(worker_, id_, std::move(job), DetachBackend(), carried_.role_mentioned())) {
    metrics_->Add(Metric::kStandbyLinksUsed);
  }
  ReportStandby(SessionInfo::kNoStandby);
}

bool Session::RouteConfirmed() const {
  auto table = ctx_.routes.Get();
  auto it = table->routes.find(cluster_->name);
  return it != table->routes.end() && it->second.confirmed && it->second.version == route_version_;
}

Session::WriteThrough Session::StartFenceWriteThrough() {
  if (!pump_.backend().open() || !pump_.backend_input_decided()) return WriteThrough::kNotStarted;
  stage_ = Stage::kWritingThrough;
  // Nothing of the client's stream waits to go to the backend (no batched send in flight
  // either: its bytes stay counted until sent): the statement may go on the socket now, ahead
  // of the work.
  if (pump_.to_backend_pending() == 0) {
    const std::string query =
        wire::Query(fence_write_through_plain_ ? kWriteThroughTargetFenceSql
                                               : kDeferredWriteThroughTargetFenceSql);
    ssize_t n = pump_.backend().Write(query.data(), query.size());
    if (n == ssize_t(query.size())) {
      fence_write_through_inline_ = true;
      fence_answer_.clear();
      fence_reported_.clear();
      fence_refused_ = Status::Ok();
      return WriteThrough::kPipelined;
    }
    if (n != Transport::kWouldBlock) {
      // Part of a message (or nothing, the peer gone) on the wire: the stream is not whole.
      metrics_->Add(Metric::kBackendErrors);
      End("08006", "pgshift: the connection to the database server of \"" + cluster_->name +
                       "\" was lost; reconnect");
      return WriteThrough::kHeld;
    }
  }
  held_ = true;
  auto job = LoginJob(endpoint_);
  auto backend = std::make_shared<Transport>(DetachBackend());
  Worker* w = &worker_;
  uint64_t id = id_;
  ctx_.pool->Submit([w, id, job, backend] {
    auto reported = std::make_shared<Result<std::vector<std::pair<std::string, std::string>>>>(
        WriteThroughTargetFenceNow(*job, *backend));
    w->Post([id, reported, backend](Worker& worker) {
      if (Session* s = worker.Find(id))
        s->OnFenceWriteThrough(std::move(*reported), std::move(*backend));
    });
  });
  return WriteThrough::kHeld;
}

bool Session::ReadFenceWriteThroughAnswer() {
  bool progress = false;
  for (;;) {
    // Exactly what the current message still needs: its header, then its body.
    size_t need = 5;
    if (fence_answer_.size() >= 5) {
      uint32_t len = wire::ReadU32(fence_answer_.data() + 1);
      if (len < 4 || len > (1u << 20)) {
        OnFenceWriteThrough(Unavailable("malformed answer from the backend"), DetachBackend());
        return true;
      }
      need = 1 + size_t(len);
    }
    if (fence_answer_.size() < need) {
      char buf[4096];
      size_t want = std::min(sizeof(buf), need - fence_answer_.size());
      ssize_t n = pump_.backend().Read(buf, want);
      if (n == Transport::kWouldBlock) return progress;
      if (n == Transport::kClosed) {
        OnFenceWriteThrough(Unavailable("the backend closed the connection"), DetachBackend());
        return true;
      }
      fence_answer_.append(buf, size_t(n));
      progress = true;
      continue;
    }
    char type = fence_answer_[0];
    std::string body = fence_answer_.substr(5, need - 5);
    fence_answer_.clear();
    if (type == wire::type::kErrorResponse && fence_refused_.ok()) {
      auto f = wire::ParseErrorFields(body);
      fence_refused_ = FailedPrecondition("cluster " + cluster_->name +
                                          ": writing through the target fence: " + f['M'] +
                                          " (SQLSTATE " + f['C'] + ")");
    } else if (type == 'S') {
      size_t z = body.find('\0');
      if (z != std::string::npos) {
        fence_reported_.emplace_back(body.substr(0, z),
                                     body.substr(z + 1, body.find('\0', z + 1) - z - 1));
      }
    } else if (type == wire::type::kReadyForQuery) {
      Result<std::vector<std::pair<std::string, std::string>>> reported =
          fence_refused_.ok()
              ? Result<std::vector<std::pair<std::string, std::string>>>(std::move(fence_reported_))
              : fence_refused_;
      OnFenceWriteThrough(std::move(reported), Transport());
      return true;
    }
    // RowDescription, DataRow, CommandComplete, notices: nothing to keep.
  }
}

void Session::OnFenceWriteThrough(Result<std::vector<std::pair<std::string, std::string>>> reported,
                                  Transport backend) {
  if (stage_ != Stage::kWritingThrough) return;  // the session ended meanwhile
  const bool inline_answer = fence_write_through_inline_;
  fence_write_through_inline_ = false;
  if (!reported.ok() && reported.status().code() == Code::kUnavailable) {
    metrics_->Add(Metric::kBackendErrors);
    spdlog::warn("proxy session {}: {}", id_, reported.status().ToString());
    return End("08006", "pgshift: the connection to the database server of \"" + cluster_->name +
                            "\" was lost; reconnect");
  }
  fence_write_through_due_ = false;
  if (!reported.ok()) {
    // The backend answered and is idle: the session goes on, read-only where the fence is up.
    spdlog::warn("proxy session {}: {}", id_, reported.status().ToString());
  } else {
    metrics_->Add(Metric::kFenceWriteThroughs);
    for (const auto& parameter : *reported) {
      // The client learns the new default as it would from the server itself.
      (void)pump_.ComposeToClient(wire::ParameterStatus(parameter.first, parameter.second));
      auto it = std::find_if(backend_parameters_.begin(), backend_parameters_.end(),
                             [&](const auto& p) { return p.first == parameter.first; });
      if (it == backend_parameters_.end())
        backend_parameters_.push_back(parameter);
      else
        it->second = parameter.second;
    }
  }
  if (!inline_answer) {
    pump_.AttachBackend(std::move(backend));
    worker_.Watch(pump_.backend().fd(), &backend_tag_);
  }
  stage_ = Stage::kReady;
  held_ = false;
  pump_.ClientMayTakeOutput();
  if (!inline_answer) Pump();  // inline: the pump round that read the answer goes on
}

void Session::PrepareStandby(const Endpoint& endpoint) {
  if (move_.standby_opening()) return;  // its completion reports the state
  if (replication_ || stage_ != Stage::kReady) {
    return ReportStandby(SessionInfo::kNoStandby);  // logs in at the switch
  }
  if (move_.HasStandbyLinkTo(endpoint)) return ReportStandby(SessionInfo::kStandbyOpen);
  ReportStandby(SessionInfo::kStandbyOpening);
  move_.OpenStandby(worker_, id_, LoginJob(endpoint));
}

void Session::OnStandbyLogin(Result<BackendLink> link, Endpoint endpoint) {
  if (!link.ok()) {
    spdlog::info("proxy session {}: no standby link: {}", id_, link.status().message());
  }
  ReportStandby(move_.StandbyLoginDone(std::move(link), endpoint));
}

void Session::CloseRetiredBackend(std::chrono::steady_clock::time_point now) {
  if (!move_.has_retired_backend() || cluster_->paused.load()) return;
  move_.CloseRetiredBackendAfterGrace(now);
}

void Session::OnBackendLogin(Result<BackendLink> link, Endpoint endpoint, Transport old) {
  if (stage_ != Stage::kConnecting && stage_ != Stage::kMoving) return;
  bool migrating = stage_ == Stage::kMoving;
  if (!link.ok()) {
    metrics_->Add(Metric::kBackendErrors);
    spdlog::warn("proxy session {}: {}", id_, link.status().ToString());
    if (migrating && link.status().code() == Code::kAborted) {
      // Its role could not be carried (BackendMove::StartSwitch): never go on as another.
      metrics_->Add(Metric::kSessionsEndedOnSwitch);
      return End("57P01", "pgshift: database \"" + cluster_->name +
                              "\" moved to a new server and this session held " +
                              link.status().message() +
                              ", which cannot be carried over; reconnect");
    }
    if (migrating) {
      metrics_->Add(Metric::kSessionsEndedOnSwitch);
      return End("08006",
                 "pgshift: database \"" + cluster_->name +
                     "\" moved to a new server and this session could not be carried over; "
                     "reconnect");
    }
    ClientRefusal refusal = RefusalForClient(link.status(), cluster_->name);
    return End(refusal.sqlstate.c_str(), refusal.message);
  }
  BackendLink& l = *link;
  if (old.open()) move_.Retire(std::move(old));
  if (pump_.backend().open()) {
    Transport previous = DetachBackend();
    if (migrating) move_.Retire(std::move(previous));
  }
  pump_.AttachBackend(std::move(l.transport));
  worker_.Watch(pump_.backend().fd(), &backend_tag_);
  backend_parameters_ = l.parameters;
  backend_pid_ = l.pid;
  backend_secret_ = l.secret;
  endpoint_ = endpoint;
  route_version_ = endpoint.version;
  move_.LoggedIn();
  // A moved session wrote through in its replay only on a confirmed route; a login (or a
  // pooled backend, reset to the server's defaults) did if read-only is no longer reported.
  fence_write_through_due_ = migrating ? !endpoint.confirmed : ReportsReadOnlyDefault(l.parameters);
  fence_write_through_plain_ = migrating && l.read_only_default_is_servers;
  CancelTarget target{cluster_->name, endpoint, l.pid, l.secret};
  work_.tx = wire::kTxIdle;
  if (migrating) {
    ctx_.cancels.Update(*key_, target);
    metrics_->Add(Metric::kSessionsMoved);
  } else {
    Result<ProxyKey> key = ctx_.cancels.Issue(target);
    if (!key.ok()) {
      metrics_->Add(Metric::kCancelKeyFailures);
      spdlog::error("proxy session {}: login failed: {}", id_, key.status().message());
      return End("XX000",
                 "pgshift: the proxy could not complete the login (internal error, see the "
                 "proxy's log); try again");
    }
    key_ = *key;
    std::string hello = wire::AuthenticationOk();
    for (const auto& [k, v] : l.parameters) hello += wire::ParameterStatus(k, v);
    hello += wire::BackendKeyData(key_->pid, key_->secret);
    hello += wire::ReadyForQuery(wire::kTxIdle);
    if (!pump_.ComposeToClient(hello)) return Close();
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
  stage_ = Stage::kReady;
  held_ = false;
  Pump();
}

void Session::OnKick() {
  if (stage_ == Stage::kWaitResume) {
    if (!cluster_->paused.load()) StartLogin();
    return;
  }
  if (stage_ != Stage::kReady) return;
  held_ = false;
  CloseRetiredBackend(std::chrono::steady_clock::now());
  if (move_.has_standby_link() && !cluster_->paused.load() && !RouteStale()) {
    move_.DropStandby();  // traffic resumed where it was (a rollback): the standby is not needed
    ReportStandby(SessionInfo::kNoStandby);
  }
  if (!replication_ && !Busy() && RouteStale()) {
    StartMove();
    return;
  }
  Pump();
}

void Session::CheckLoginDeadline(std::chrono::steady_clock::time_point now,
                                 std::chrono::seconds limit) {
  bool before_login =
      stage_ == Stage::kStartup || stage_ == Stage::kTlsHandshake || stage_ == Stage::kStartupTls;
  if (stage_ == Stage::kLingering && now - lingering_since_ > std::chrono::seconds(5))
    return Close();
  if (before_login && now - created_ > limit) {
    metrics_->Add(stage_ == Stage::kTlsHandshake ? Metric::kTlsHandshakeFailures
                                                 : Metric::kStartupTimeouts);
    if (stage_ == Stage::kTlsHandshake) return Close();
    Reject("08P01", "pgshift: the startup did not complete in time");
  }
}

void Session::Reject(const char* sqlstate, const std::string& message) {
  // The message may carry what the client sent (a parameter value, a name): escaped, so it
  // cannot forge log lines.
  spdlog::info("proxy session {} from {} refused: {}", id_, peer_, EscapedForLog(message));
  End(sqlstate, message);
}

void Session::End(const char* sqlstate, const std::string& message) {
  CloseBackend();
  if (!pump_.ComposeToClient(wire::ErrorResponse("FATAL", sqlstate, message))) return Close();
  stage_ = Stage::kClosing;
  held_ = true;
  pump_.ClientMayTakeOutput();
  Pump();
}

void Session::Linger() {
  CloseBackend();
  pump_.client().ShutdownWrite();
  stage_ = Stage::kLingering;
  lingering_since_ = std::chrono::steady_clock::now();
}

void Session::Close() {
  if (stage_ == Stage::kClosed) return;
  ReturnBackendToPool();
  Release();
  worker_.Retire(this);
}

void Session::ReturnBackendToPool() {
  BackendPool& pool = ctx_.backend_pool;
  if (!pool.enabled() || replication_ || !cluster_ || !pump_.backend().open()) return;
  bool clean_boundary = pump_.to_backend_at_boundary() && pump_.backend_input_decided();
  auto link = std::make_shared<BackendLink>();
  // Only a backend idle between transactions, with nothing of either stream in flight, on the
  // current route and outside a pause, can be reset into a fresh session; any other is closed
  // (an open or failed transaction, COPY, a half-sent message, a switch due, a fence coming).
  bool reusable = stage_ == Stage::kReady && !Busy() && clean_boundary && !RouteStale() &&
                  !cluster_->paused.load() && !move_.has_standby_link();
  link->transport = DetachBackend();
  if (info_) info_->backend_pid.store(0);
  if (!reusable) {
    // Terminate only between messages: mid-message it would be read as part of the message.
    if (clean_boundary) CloseBackendLink(*link);
    pool.CountDiscard(cluster_->name);
    return;
  }
  link->parameters = backend_parameters_;
  link->pid = backend_pid_;
  link->secret = backend_secret_;
  ctx_.pool->Submit([&pool, link, key = PoolKeyOf(), version = route_version_, metrics = metrics_,
                     timeout = ctx_.config.connect_timeout_ms] {
    Status reset = ResetBackendForReuse(key.cluster, *link, timeout);
    if (!reset.ok()) {
      spdlog::info("proxy: backend not pooled: {}", reset.message());
      CloseBackendLink(*link);
      pool.CountDiscard(key.cluster);
      return;
    }
    metrics->Add(Metric::kPoolResets);
    pool.Put(key, std::move(*link), version);
  });
}

void Session::Release() {
  if (stage_ == Stage::kClosed) return;
  stage_ = Stage::kClosed;
  connection_slot_.Release();
  SetCountedBusy(false);
  if (pump_.client().open()) {
    worker_.Unwatch(pump_.client().fd());
    pump_.client().Close();
  }
  CloseBackend();
  move_.CloseRetiredBackendNow();
  if (key_) ctx_.cancels.Remove(*key_);
  if (info_) {
    ctx_.sessions.Remove(id_);
    metrics_->Add(Metric::kSessionsActive, -1);
    if (replication_) metrics_->Add(Metric::kReplicationSessionsActive, -1);
    info_.reset();
  }
}

}  // namespace pgshift::proxy
