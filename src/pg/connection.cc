// libpq calls, with connection errors sorted by cause.
#include "pg/connection.h"

#include <cstdlib>

namespace pgshift {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool Contains(const std::string& hay, std::string_view needle) {
  return hay.find(needle) != std::string::npos;
}

Status ClassifyConnectError(const ConnInfo& info, const std::string& raw_msg) {
  std::string msg = Trim(raw_msg);
  std::string who = info.Label();
  if (Contains(msg, "password authentication failed") || Contains(msg, "no password supplied") ||
      Contains(msg, "SCRAM") || Contains(msg, "authentication failed")) {
    return Unauthenticated(who +
                           ": authentication failed (wrong password or user); check the "
                           "user and password in the connection string. Server said: " +
                           msg);
  }
  if (Contains(msg, "no pg_hba.conf entry")) {
    return PermissionDenied(who +
                            ": the server's pg_hba.conf rejects this connection; add an "
                            "entry for this host and user. Server said: " +
                            msg);
  }
  if (Contains(msg, "does not exist")) {
    return NotFound(who + ": " + msg + "; check user and dbname");
  }
  if (Contains(msg, "permission denied")) {
    return PermissionDenied(who + ": " + msg);
  }
  if (Contains(msg, "Connection refused") || Contains(msg, "could not translate host name") ||
      Contains(msg, "timeout expired") || Contains(msg, "No route to host") ||
      Contains(msg, "the database system is") || Contains(msg, "Network is unreachable")) {
    return Unavailable(who + ": cannot reach the server (" + msg +
                       "); check host and port and that PostgreSQL is running");
  }
  return Unavailable(who + ": cannot connect: " + msg);
}

Code CodeForSqlState(const std::string& state) {
  if (state == "42501") return Code::kPermissionDenied;
  if (state.rfind("28", 0) == 0) return Code::kUnauthenticated;
  if (state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03") {
    return Code::kUnavailable;
  }
  if (state == "40001" || state == "40P01" || state == "55P03") return Code::kAborted;
  if (state == "25006") return Code::kFailedPrecondition;  // read-only transaction
  if (state.rfind("42", 0) == 0 || state.rfind("22", 0) == 0) return Code::kInvalidArgument;
  return Code::kFailedPrecondition;
}

}  // namespace

int PgResult::Column(std::string_view name) const {
  return PQfnumber(r_.get(), std::string(name).c_str());
}

std::string PgResult::Get(int row, std::string_view col) const {
  int c = Column(col);
  return c < 0 ? "" : Get(row, c);
}

std::optional<std::string> PgResult::GetOpt(int row, std::string_view col) const {
  int c = Column(col);
  if (c < 0 || IsNull(row, c)) return std::nullopt;
  return Get(row, c);
}

int64_t PgResult::GetInt(int row, std::string_view col, int64_t if_null) const {
  auto v = GetOpt(row, col);
  return v ? std::strtoll(v->c_str(), nullptr, 10) : if_null;
}

double PgResult::GetDouble(int row, std::string_view col, double if_null) const {
  auto v = GetOpt(row, col);
  return v ? std::strtod(v->c_str(), nullptr) : if_null;
}

bool PgResult::GetBool(int row, std::string_view col) const {
  auto v = GetOpt(row, col);
  return v && (*v == "t" || *v == "true" || *v == "on");
}

Result<PgConnection> PgConnection::Connect(const ConnInfo& info) {
  ConnInfo ci = info;
  if (ci.Get("connect_timeout").empty()) ci = ci.With("connect_timeout", "5");
  if (ci.Get("application_name").empty()) ci = ci.With("application_name", "pgshift");
  PGconn* c = PQconnectdb(ci.raw().c_str());
  if (!c) return Unavailable(info.Label() + ": out of memory creating a connection");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    return ClassifyConnectError(info, msg);
  }
  return PgConnection(c, info);
}

Status PgConnection::ErrorFrom(PGresult* r, const std::string& sql) {
  std::string state;
  std::string msg;
  if (r) {
    const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char* m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    state = s ? s : "";
    msg = m ? m : Trim(PQresultErrorMessage(r));
  }
  if (msg.empty()) msg = Trim(PQerrorMessage(conn_.get()));
  Code code = state.empty() ? Code::kUnavailable : CodeForSqlState(state);
  std::string first_line = sql.substr(0, sql.find('\n'));
  if (first_line.size() > 80) first_line = first_line.substr(0, 77) + "...";
  return Status(code, info_.Label() + ": " + msg + (state.empty() ? "" : " [" + state + "]") +
                          " (query: " + first_line + ")");
}

Result<PgResult> PgConnection::Query(const std::string& sql, const Params& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* r = PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    Status err = ErrorFrom(r, sql);
    if (r) PQclear(r);
    return err;
  }
  return PgResult(r);
}

Status PgConnection::Exec(const std::string& sql, const Params& params) {
  if (params.empty()) {
    // Simple protocol: allows several statements and utility commands.
    PGresult* r = PQexec(conn_.get(), sql.c_str());
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      Status err = ErrorFrom(r, sql);
      if (r) PQclear(r);
      return err;
    }
    PQclear(r);
    return Status::Ok();
  }
  auto r = Query(sql, params);
  return r.status();
}

Result<std::string> PgConnection::QueryValue(const std::string& sql, const Params& params) {
  ASSIGN_OR_RETURN(PgResult r, Query(sql, params));
  if (r.rows() < 1 || r.cols() < 1) {
    return Internal(info_.Label() + ": query returned no value (query: " + sql + ")");
  }
  return r.IsNull(0, 0) ? std::string() : r.Get(0, 0);
}

bool PgConnection::Alive() {
  if (PQstatus(conn_.get()) != CONNECTION_OK) return false;
  return Exec("SELECT 1").ok();
}

std::string QuoteIdent(PgConnection& c, const std::string& ident) {
  char* q = PQescapeIdentifier(c.raw(), ident.c_str(), ident.size());
  std::string s = q ? q : "\"\"";
  PQfreemem(q);
  return s;
}

std::string QuoteLiteral(PgConnection& c, const std::string& literal) {
  char* q = PQescapeLiteral(c.raw(), literal.c_str(), literal.size());
  std::string s = q ? q : "''";
  PQfreemem(q);
  return s;
}

}  // namespace pgshift
