// Reads pg_prepared_xacts and names its transactions for an operator.
#include "pg/prepared_transactions.h"

namespace pgshift {

std::string PreparedTransactions::Describe() const {
  std::string out;
  for (const std::string& gid : gids) {
    out += out.empty() ? "'" : ", '";
    for (char c : gid) out += c == '\'' ? std::string("''") : std::string(1, c);
    out += "'";
  }
  return out;
}

Result<PreparedTransactions> ReadPreparedTransactions(PgConnection& conn) {
  ASSIGN_OR_RETURN(PgResult r, conn.Query("SELECT gid FROM pg_prepared_xacts ORDER BY gid"));
  PreparedTransactions p;
  for (int i = 0; i < r.rows(); ++i) p.gids.push_back(r.Get(i, "gid"));
  return p;
}

}  // namespace pgshift
