// WalProbe: proof that WAL written on the source reaches the target.
//
// A system identifier, a timeline and a streaming WAL receiver do not prove that: a storage
// snapshot of the source started as a primary keeps both the identifier and the timeline, and
// a standby of that copy looks exactly like a standby of the source while it replays other
// data. So the probe writes a random token into the source's WAL (a transactional logical
// message: an XID and a commit record, no table touched), waits until the target has received
// past it, and reads the target's own WAL file at that position for the token.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "common/clock.h"
#include "pg/connection.h"

namespace pgshift {

struct WalProbe {
  enum class Outcome {
    kFound,        // the token is in the target's WAL: it replicates this source
    kNotFound,     // the target received past the token's LSN and holds other WAL there
    kNotReceived,  // the target never reached the token's LSN within the timeout
    kNotRun,       // the probe could not be made (privileges, read-only source); see detail
  };
  Outcome outcome = Outcome::kNotRun;
  std::string token_lsn;  // where the last token was written on the source
  std::string wal_file;   // the target file it was looked for in
  int attempts = 0;
  std::string detail;  // why not run, or what was read
  nlohmann::json ToJson() const;
};

// At most three tokens (a token cut by a WAL page header is missed; the next lands elsewhere),
// each waited for up to `timeout`. Writes one logical message and commit per attempt on the
// source (CDC consumers that decode messages see one with prefix 'pgshift.replica_probe');
// reading on the target needs EXECUTE on pg_read_binary_file (superusers have it).
WalProbe ProbeWalPath(PgConnection& source, PgConnection& target, std::chrono::milliseconds timeout,
                      Clock& clock);

}  // namespace pgshift
