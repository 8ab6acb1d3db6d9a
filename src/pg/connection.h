// PgConnection and PgResult: a thin RAII layer over libpq. Every error names the endpoint
// (ConnInfo::Label) and is classified so callers can decide: an unreachable server is
// kUnavailable, a rejected password kUnauthenticated, a missing privilege kPermissionDenied.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "pg/conninfo.h"

namespace pgshift {

class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r, &PQclear) {}
  int rows() const { return PQntuples(r_.get()); }
  int cols() const { return PQnfields(r_.get()); }
  int Column(std::string_view name) const;  // -1 when absent
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string Get(int row, int col) const { return PQgetvalue(r_.get(), row, col); }
  std::string Get(int row, std::string_view col) const;
  std::optional<std::string> GetOpt(int row, std::string_view col) const;
  int64_t GetInt(int row, std::string_view col, int64_t if_null = 0) const;
  double GetDouble(int row, std::string_view col, double if_null = 0) const;
  bool GetBool(int row, std::string_view col) const;  // "t" is true
  std::string ColumnName(int col) const { return PQfname(r_.get(), col); }

 private:
  std::shared_ptr<PGresult> r_;
};

using Params = std::vector<std::optional<std::string>>;

class PgConnection {
 public:
  // Connects with a bounded connect_timeout (default 5 s unless the conninfo sets one).
  static Result<PgConnection> Connect(const ConnInfo& info);

  PgConnection(PgConnection&&) noexcept = default;
  PgConnection& operator=(PgConnection&&) noexcept = default;

  Result<PgResult> Query(const std::string& sql, const Params& params = {});
  Status Exec(const std::string& sql, const Params& params = {});
  // Single value of a one-row, one-column query.
  Result<std::string> QueryValue(const std::string& sql, const Params& params = {});

  bool Alive();
  int BackendPid() const { return PQbackendPID(conn_.get()); }
  int ServerVersionNum() const { return PQserverVersion(conn_.get()); }
  const ConnInfo& info() const { return info_; }
  PGconn* raw() { return conn_.get(); }

 private:
  PgConnection(PGconn* c, ConnInfo info) : conn_(c, &PQfinish), info_(std::move(info)) {}
  Status ErrorFrom(PGresult* r, const std::string& sql);
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn_;
  ConnInfo info_;
};

// Quotes an identifier or a literal for SQL built by pgshift.
std::string QuoteIdent(PgConnection& c, const std::string& ident);
std::string QuoteLiteral(PgConnection& c, const std::string& literal);

}  // namespace pgshift
