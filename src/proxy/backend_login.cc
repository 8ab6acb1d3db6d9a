// Blocking backend connection, authentication and state replay.
#include "proxy/backend_login.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "proxy/scram_client.h"
#include "proxy/wire_format.h"

namespace pgshift::proxy {
namespace {

std::string Where(const BackendLogin& l) {
  return "backend " + l.endpoint.host + ":" + std::to_string(l.endpoint.port) + " of cluster " +
         l.cluster + " (role " + l.user + ")";
}

// A connected blocking TCP socket with send/receive timeouts, or kUnavailable.
Result<int> ConnectTcp(const std::string& host, int port, int timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) return Unavailable(std::string("cannot resolve: ") + gai_strerror(rc));
  std::string last = "no address";
  for (addrinfo* a = res; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    int r = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (r < 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      r = ::poll(&p, 1, timeout_ms) == 1 ? 0 : -1;
      int err = r == 0 ? 0 : ETIMEDOUT;
      socklen_t len = sizeof(err);
      if (r == 0) getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        errno = err;
        r = -1;
      }
    }
    if (r == 0) {
      freeaddrinfo(res);
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      return fd;
    }
    last = std::strerror(errno);
    ::close(fd);
  }
  freeaddrinfo(res);
  return Unavailable("cannot connect: " + last);
}

// Blocking message I/O over the (maybe TLS) connection.
class Channel {
 public:
  explicit Channel(Transport& t) : t_(t) {}
  bool Send(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = t_.Write(bytes.data() + off, bytes.size() - off);
      if (n <= 0) return false;
      off += size_t(n);
    }
    return true;
  }
  // Next message: type and body. False on timeout, close or an absurd length.
  bool Receive(char& type, std::string& body) {
    if (!Fill(5)) return false;
    type = in_[0];
    uint32_t len = wire::ReadU32(in_.data() + 1);
    if (len < 4 || len > (64u << 20)) return false;
    if (!Fill(1 + len)) return false;
    body.assign(in_, 5, len - 4);
    in_.erase(0, 1 + len);
    return true;
  }

 private:
  bool Fill(size_t n) {
    char buf[16384];
    while (in_.size() < n) {
      ssize_t r = t_.Read(buf, sizeof(buf));
      if (r <= 0) return false;  // blocking socket: would-block means the timeout hit
      in_.append(buf, size_t(r));
    }
    return true;
  }
  Transport& t_;
  std::string in_;
};

Status ServerError(const BackendLogin& l, const std::string& body, Code code) {
  auto f = wire::ParseErrorFields(body);
  return Status(code, Where(l) + ": server said: " + f['M'] + " (SQLSTATE " + f['C'] + ")");
}

Status StartTls(const BackendLogin& l, Transport& t, SSL_CTX* ctx) {
  std::string req;
  wire::AppendU32(req, 8);
  wire::AppendU32(req, wire::kSslRequestCode);
  if (::send(t.fd(), req.data(), req.size(), MSG_NOSIGNAL) != 8) {
    return Unavailable(Where(l) + ": cannot send SSLRequest");
  }
  char answer = 0;
  if (::recv(t.fd(), &answer, 1, 0) != 1)
    return Unavailable(Where(l) + ": no answer to SSLRequest");
  if (answer != 'S') return Unavailable(Where(l) + ": the server does not accept TLS (tls = on)");
  std::string expected_name;
  if (l.auth.verify_full) {
    ASSIGN_OR_RETURN(ctx, VerifyingBackendTlsContext(l.auth.ca_file));
    expected_name = l.auth.server_name.empty() ? l.endpoint.host : l.auth.server_name;
  }
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, t.fd());
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  t.AdoptTls(ssl);
  if (!expected_name.empty()) RETURN_IF_ERROR(ExpectServerName(ssl, expected_name));
  if (SSL_connect(ssl) != 1) {
    long verdict = SSL_get_verify_result(ssl);
    if (l.auth.verify_full && verdict != X509_V_OK) {
      // An impostor, or a misconfigured CA or name: not transient, so not kUnavailable.
      return Unauthenticated(Where(l) + ": refused by tls = verify-full: the certificate of " +
                             expected_name + " does not verify against tls_ca_file (" +
                             X509_verify_cert_error_string(verdict) + ")");
    }
    return Unavailable(Where(l) + ": TLS handshake failed");
  }
  return Status::Ok();
}

// The SASL mechanisms an AuthenticationSASL body offers (after its 4-byte kind).
std::vector<std::string> SaslMechanisms(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty() && list[0] != '\0') {
    size_t z = list.find('\0');
    if (z == std::string_view::npos) break;
    out.emplace_back(list.substr(0, z));
    list.remove_prefix(z + 1);
  }
  return out;
}

// A refusal by the cluster's auth_methods (the rule is named for the proxy's log).
Status RefusedMethod(const BackendLogin& l, const std::string& method) {
  return Unauthenticated(Where(l) + ": refused by auth_methods: the server asked for " + method +
                         ", which this cluster's auth_methods does not list");
}

// Answers authentication requests until AuthenticationOk. Believes AuthenticationOk only when
// the exchange it ends is one the cluster allows: after SCRAM, once the server's signature
// verified (a server that skips SASLFinal proves nothing); with no exchange, only if
// auth_methods lists none.
Status Authenticate(const BackendLogin& l, Channel& ch, Transport& t, BackendLink& link) {
  std::unique_ptr<ScramClient> scram;
  bool answered_password = false;  // md5 or cleartext sent
  for (;;) {
    char type;
    std::string body;
    if (!ch.Receive(type, body)) return Unavailable(Where(l) + ": connection lost during login");
    if (type == 'E') return ServerError(l, body, Code::kUnauthenticated);
    if (type != 'R' || body.size() < 4) {
      return Unavailable(Where(l) + ": unexpected message during login");
    }
    uint32_t kind = wire::ReadU32(body.data());
    std::string reply;
    if (scram && kind != 0 && kind != 11 && kind != 12) {
      return Unauthenticated(Where(l) + ": the server switched method in the middle of SCRAM");
    }
    switch (kind) {
      case 0:
        if (scram && !scram->verified()) {
          return Unauthenticated(Where(l) +
                                 ": refused by SCRAM: the server said AuthenticationOk without "
                                 "proving it knows the password (no verified SASLFinal)");
        }
        if (!scram && !answered_password && !l.auth.none) {
          return Unauthenticated(Where(l) +
                                 ": refused by auth_methods: the server asked for no password "
                                 "(trust), which this cluster's auth_methods does not list "
                                 "(add none)");
        }
        return Status::Ok();
      case 3:  // cleartext
        if (!l.auth.password) return RefusedMethod(l, "a cleartext password (password)");
        answered_password = true;
        reply = wire::Message('p', l.password + std::string(1, '\0'));
        break;
      case 5: {  // md5
        if (!l.auth.md5) return RefusedMethod(l, "md5");
        if (body.size() < 8) return Unavailable(Where(l) + ": malformed md5 request");
        answered_password = true;
        reply = wire::Message(
            'p', Md5PasswordResponse(l.user, l.password, body.substr(4, 4)) + std::string(1, '\0'));
        break;
      }
      case 10: {  // SASL: mechanisms list
        if (!l.auth.scram) return RefusedMethod(l, "SCRAM-SHA-256 (scram-sha-256)");
        bool plain = false, plus = false;
        for (const std::string& m : SaslMechanisms(std::string_view(body).substr(4))) {
          plain = plain || m == "SCRAM-SHA-256";
          plus = plus || m == "SCRAM-SHA-256-PLUS";
        }
        if (!plain && !plus) {
          return Unauthenticated(Where(l) +
                                 ": the server offers no SASL mechanism the proxy knows");
        }
        ScramBinding binding = ScramBinding::kNone;
        std::string binding_data;
        if (t.tls() && plus) {
          auto hash = ServerEndPointHash(t.ssl());
          if (!hash.ok()) return Unavailable(Where(l) + ": " + hash.status().message());
          binding = ScramBinding::kEndPoint;
          binding_data = *hash;
        } else if (t.tls()) {
          binding = ScramBinding::kNotOffered;
        }
        if (!plain && binding != ScramBinding::kEndPoint) {
          return Unauthenticated(Where(l) + ": the server offers only SCRAM-SHA-256-PLUS");
        }
        scram = std::make_unique<ScramClient>(l.password, "", "", binding, binding_data);
        link.channel_bound = binding == ScramBinding::kEndPoint;
        std::string first = scram->ClientFirst();
        std::string msg = scram->Mechanism();
        msg.push_back('\0');
        wire::AppendU32(msg, uint32_t(first.size()));
        msg += first;
        reply = wire::Message('p', msg);
        break;
      }
      case 11: {  // SASLContinue
        if (!scram) return Unavailable(Where(l) + ": SASLContinue before SASL");
        auto fin = scram->ClientFinal(std::string_view(body).substr(4));
        if (!fin.ok()) return Unauthenticated(Where(l) + ": refused by " + fin.status().message());
        reply = wire::Message('p', *fin);
        break;
      }
      case 12: {  // SASLFinal
        if (!scram) return Unavailable(Where(l) + ": SASLFinal before SASL");
        Status st = scram->VerifyServerFinal(std::string_view(body).substr(4));
        if (!st.ok()) return Unauthenticated(Where(l) + ": refused by " + st.message());
        continue;
      }
      default:
        return Unauthenticated(Where(l) + ": unsupported authentication method " +
                               std::to_string(kind));
    }
    if (!ch.Send(reply)) return Unavailable(Where(l) + ": connection lost during login");
  }
}

// Reads until ReadyForQuery, collecting ParameterStatus and BackendKeyData.
Status ReadUntilReady(const BackendLogin& l, Channel& ch, BackendLink* link, Code error_code) {
  Status first_error;
  for (;;) {
    char type;
    std::string body;
    if (!ch.Receive(type, body)) {
      // A server that reports a FATAL (no such database, too many clients) then closes: the
      // report is the reason, not the close.
      return first_error.ok() ? Unavailable(Where(l) + ": connection lost") : first_error;
    }
    if (type == 'Z') return first_error;
    if (type == 'E' && first_error.ok()) first_error = ServerError(l, body, error_code);
    if (link && type == 'S') {
      size_t z = body.find('\0');
      if (z != std::string::npos) {
        link->parameters.emplace_back(body.substr(0, z),
                                      body.substr(z + 1, body.find('\0', z + 1) - z - 1));
      }
    }
    if (link && type == 'K' && body.size() >= 8) {
      link->pid = wire::ReadU32(body.data());
      link->secret = wire::ReadU32(body.data() + 4);
    }
  }
}

// Keeps one entry per parameter, the last value reported, in the place of the first: the
// client is told each once, and the pool's reset (backend_reset.cc) updates that entry.
void KeepLastReported(std::vector<std::pair<std::string, std::string>>& parameters) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& parameter : parameters) {
    const std::string& name = parameter.first;
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == name; });
    if (it == out.end())
      out.push_back(std::move(parameter));
    else
      it->second = std::move(parameter.second);
  }
  parameters = std::move(out);
}

// A server that reports read-only by default (PostgreSQL reports the parameter at login) may
// carry the target fence: one query then, none otherwise. Not when the client chose the
// setting itself in its startup parameters, nor on a route no explicit resume confirmed yet
// (the session then writes through later, Session::StartFenceWriteThrough).
Status WriteThroughTargetFence(const BackendLogin& l, Channel& ch, BackendLink& link) {
  if (!l.endpoint.confirmed || !ReportsReadOnlyDefault(link.parameters) ||
      ClientChoseReadOnlyDefault(l.options)) {
    return Status::Ok();
  }
  if (!ch.Send(wire::Query(kWriteThroughTargetFenceSql))) {
    return Unavailable(Where(l) + ": connection lost");
  }
  // With the link: the server's new ParameterStatus (off) follows the first in its list.
  Status st = ReadUntilReady(l, ch, &link, Code::kFailedPrecondition);
  KeepLastReported(link.parameters);
  return st.ok() ? st : st.Context("writing through the target fence");
}

Status Replay(const BackendLogin& l, Channel& ch) {
  for (const std::string& sql : l.replay_sql) {
    if (!ch.Send(wire::Query(sql))) return Unavailable(Where(l) + ": connection lost in replay");
    Status st = ReadUntilReady(l, ch, nullptr, Code::kFailedPrecondition);
    if (!st.ok()) return st.Context("replaying a SET");
  }
  if (l.replay_parse.empty()) return Status::Ok();
  std::string batch;
  for (const std::string& parse : l.replay_parse) batch += parse;
  batch += wire::Sync();
  if (!ch.Send(batch)) return Unavailable(Where(l) + ": connection lost in replay");
  Status st = ReadUntilReady(l, ch, nullptr, Code::kFailedPrecondition);
  return st.ok() ? st : st.Context("replaying prepared statements");
}

}  // namespace

bool ClientChoseReadOnlyDefault(const std::map<std::string, std::string>& startup_options) {
  const std::string name = "default_transaction_read_only";
  if (startup_options.contains(name)) return true;
  auto options = startup_options.find("options");
  return options != startup_options.end() && options->second.find(name) != std::string::npos;
}

bool ReportsReadOnlyDefault(const std::vector<std::pair<std::string, std::string>>& parameters) {
  bool read_only = false;
  for (const auto& [name, value] : parameters) {
    if (name == "default_transaction_read_only") read_only = value == "on";
  }
  return read_only;
}

Result<std::vector<std::pair<std::string, std::string>>> WriteThroughTargetFenceNow(
    const BackendLogin& l, Transport& backend) {
  int f = backend.fd();
  timeval tv{l.timeout_ms / 1000, (l.timeout_ms % 1000) * 1000};
  setsockopt(f, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(f, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK);
  Channel ch(backend);
  BackendLink reported;  // collects the ParameterStatus messages only
  Status st = ch.Send(wire::Query(kDeferredWriteThroughTargetFenceSql))
                  ? ReadUntilReady(l, ch, &reported, Code::kFailedPrecondition)
                  : Unavailable(Where(l) + ": connection lost");
  fcntl(f, F_SETFL, fcntl(f, F_GETFL) | O_NONBLOCK);
  if (!st.ok()) return st.Context("writing through the target fence");
  return reported.parameters;
}

Result<BackendLink> LoginToBackend(const BackendLogin& l, SSL_CTX* backend_tls) {
  auto fd = ConnectTcp(l.endpoint.host, l.endpoint.port, l.timeout_ms);
  if (!fd.ok()) return Unavailable(Where(l) + ": " + fd.status().message());
  BackendLink link;
  link.transport = Transport(*fd);
  if (l.endpoint.tls == BackendTls::kRequire || l.auth.verify_full)  // verify-full implies TLS
    RETURN_IF_ERROR(StartTls(l, link.transport, backend_tls));
  std::map<std::string, std::string> params = l.options;
  params["user"] = l.user;
  params["database"] = l.database;
  Channel ch(link.transport);
  if (!ch.Send(wire::StartupMessage(params)))
    return Unavailable(Where(l) + ": cannot send startup");
  RETURN_IF_ERROR(Authenticate(l, ch, link.transport, link));
  RETURN_IF_ERROR(ReadUntilReady(l, ch, &link, Code::kUnavailable));
  RETURN_IF_ERROR(WriteThroughTargetFence(l, ch, link));
  RETURN_IF_ERROR(Replay(l, ch));
  if (!l.warm_up_sql.empty()) {
    if (!ch.Send(wire::Query(l.warm_up_sql))) return Unavailable(Where(l) + ": connection lost");
    Status warmed = ReadUntilReady(l, ch, nullptr, Code::kFailedPrecondition);
    if (warmed.code() == Code::kUnavailable) return warmed;  // an error only costs the warmth
  }
  int f = link.transport.fd();
  fcntl(f, F_SETFL, fcntl(f, F_GETFL) | O_NONBLOCK);
  return link;
}

ClientRefusal RefusalForClient(const Status& failure, const std::string& cluster) {
  std::string sqlstate;
  const std::string& m = failure.message();
  size_t at = m.rfind("(SQLSTATE ");
  if (at != std::string::npos && m.size() == at + 16 && m.back() == ')') {
    sqlstate = m.substr(at + 10, 5);
  }
  std::string server = "pgshift: the database server of \"" + cluster + "\"";
  if (sqlstate == "53300") {
    return {"53300", server + " has too many connections right now; try again later"};
  }
  if (sqlstate == "3D000") {
    return {"3D000", server +
                         " has no database by the name the proxy is configured with; see the "
                         "proxy's log"};
  }
  bool transient = sqlstate.rfind("57", 0) == 0 || sqlstate.rfind("08", 0) == 0;
  if (failure.code() == Code::kUnauthenticated || (!sqlstate.empty() && !transient)) {
    // Not the client's fault and not transient: say so, without the server's words (they
    // name the backend role and host; the proxy's log has them).
    return {"08004", server +
                         " refused the proxy's login (the proxy's credential for it is wrong or "
                         "not allowed there); see the proxy's log"};
  }
  return {"08006",
          "pgshift: cannot reach the database server of \"" + cluster + "\" right now; try again"};
}

Status ReplayOnLink(const BackendLogin& l, BackendLink& link) {
  int f = link.transport.fd();
  // A round trip on the server being promoted costs it CPU at the worst moment, so a quiet link
  // (nothing to read, not hung up, nothing held in TLS) goes without the Sync that shows it
  // alive: the replay's answers show it, and with nothing to replay it would have shown no more
  // than the session's first work will. Anything pending (a termination, a reload's
  // ParameterStatus) is read by the Sync as before.
  pollfd p{f, POLLIN, 0};
  bool quiet =
      ::poll(&p, 1, 0) == 0 && (!link.transport.tls() || SSL_pending(link.transport.ssl()) == 0);
  fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK);
  Channel ch(link.transport);
  if (!quiet) {
    if (!ch.Send(wire::Sync())) return Unavailable(Where(l) + ": standby link lost");
    RETURN_IF_ERROR(ReadUntilReady(l, ch, nullptr, Code::kUnavailable));
  }
  RETURN_IF_ERROR(Replay(l, ch));
  fcntl(f, F_SETFL, fcntl(f, F_GETFL) | O_NONBLOCK);
  return Status::Ok();
}

namespace {

// E'' quoting: right whatever standard_conforming_strings the session set.
std::string EscapedLiteral(std::string_view v) {
  std::string out = "E'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += c;
    out += c;
  }
  return out + "'";
}

// The text of column `i` of a DataRow body; false if the row is malformed or the value NULL.
bool DataRowText(std::string_view row, int i, std::string& out) {
  if (row.size() < 2 || wire::ReadU16(row.data()) <= i) return false;
  size_t pos = 2;
  for (int c = 0;; ++c) {
    if (pos + 4 > row.size()) return false;
    int32_t len = static_cast<int32_t>(wire::ReadU32(row.data() + pos));
    pos += 4;
    if (c == i) {
      if (len < 0 || pos + size_t(len) > row.size()) return false;
      out.assign(row.substr(pos, size_t(len)));
      return true;
    }
    if (len > 0) pos += size_t(len);
  }
}

}  // namespace

Result<OldBackendState> ReadOldBackendState(const BackendLogin& l, Transport& old, int timeout_ms) {
  // The transaction_* parameters end with their transaction (and show as 'session' even when
  // never set); role and session_authorization pin the session instead.
  std::string sql =
      "SELECT CURRENT_USER, SESSION_USER; "
      "SELECT name, setting FROM pg_catalog.pg_settings WHERE source = 'session' AND name NOT "
      "IN ('transaction_read_only', 'transaction_isolation', 'transaction_deferrable', 'role', "
      "'session_authorization')";
  if (!l.custom_settings.empty()) {
    std::string names;
    for (const auto& n : l.custom_settings)
      names += (names.empty() ? "" : ", ") + EscapedLiteral(n);
    sql +=
        " UNION ALL SELECT n, pg_catalog.current_setting(n, true) FROM pg_catalog.unnest(ARRAY[" +
        names + "]::text[]) AS n WHERE pg_catalog.current_setting(n, true) IS NOT NULL";
  }
  sql += " ORDER BY 1";
  int f = old.fd();
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(f, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  fcntl(f, F_SETFL, fcntl(f, F_GETFL) & ~O_NONBLOCK);
  Channel ch(old);
  OldBackendState state;
  bool have_roles = false;
  Status roles_failed;  // the first statement's error: the role is unknown
  int statement = 0;    // 0: the roles, 1: the settings (CommandComplete moves on)
  std::string calls;    // one statement, one round trip on the new server
  bool answered = ch.Send(wire::Query(sql));
  for (char type = 0; answered && type != 'Z';) {
    std::string body;
    answered = ch.Receive(type, body);
    if (!answered) continue;
    Status& failed = statement == 0 ? roles_failed : state.settings_failed;
    if (type == 'C') {
      ++statement;
    } else if (type == 'E' && failed.ok()) {
      failed = ServerError(l, body, Code::kFailedPrecondition);  // the rest is not run
    } else if (type != 'D' || !failed.ok()) {
      continue;  // RowDescription, a reload's ParameterStatus, notices
    } else if (statement == 0) {
      have_roles =
          DataRowText(body, 0, state.current_user) && DataRowText(body, 1, state.session_user);
    } else if (std::string name, value;
               !DataRowText(body, 0, name) || !DataRowText(body, 1, value)) {
      state.settings_failed = FailedPrecondition(Where(l) + ": malformed settings row");
    } else {
      if (name == "default_transaction_read_only") state.settings.sets_read_only_default = true;
      calls += (calls.empty() ? "SELECT " : ", ") + std::string("pg_catalog.set_config(") +
               EscapedLiteral(name) + ", " + EscapedLiteral(value) + ", false)";
    }
  }
  fcntl(f, F_SETFL, fcntl(f, F_GETFL) | O_NONBLOCK);
  if (!answered) return Unavailable(Where(l) + ": old backend did not answer");
  if (!roles_failed.ok()) return roles_failed;
  if (!have_roles) return FailedPrecondition(Where(l) + ": the old backend named no role");
  if (statement < 2 && state.settings_failed.ok()) {
    state.settings_failed = FailedPrecondition(Where(l) + ": the settings were not listed");
  }
  if (!calls.empty()) state.settings.replay_sql.push_back(std::move(calls));
  return state;
}

Status SendCancelRequest(const Endpoint& endpoint, uint32_t pid, uint32_t secret, int timeout_ms) {
  auto fd = ConnectTcp(endpoint.host, endpoint.port, timeout_ms);
  if (!fd.ok()) return fd.status();
  std::string req = wire::CancelRequest(pid, secret);
  ssize_t n = ::send(*fd, req.data(), req.size(), MSG_NOSIGNAL);
  char c;
  (void)::recv(*fd, &c, 1, 0);  // the server closes once it has read the request
  ::close(*fd);
  return n == ssize_t(req.size()) ? Status::Ok() : Unavailable("cannot send CancelRequest");
}

}  // namespace pgshift::proxy
