// PreparedTransactions: the two-phase transactions a server holds (pg_prepared_xacts). They
// outlive their sessions and any fence, and replay onto standbys, so the fence and the slot
// handover both refuse on their account; their messages name them with Describe().
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "pg/connection.h"

namespace pgshift {

struct PreparedTransactions {
  std::vector<std::string> gids;  // in gid order
  bool empty() const { return gids.empty(); }
  // "'a', 'b'": each gid as an SQL literal, ready for COMMIT PREPARED.
  std::string Describe() const;
};

Result<PreparedTransactions> ReadPreparedTransactions(PgConnection& conn);

}  // namespace pgshift
