// Rollback after promotion without losing the target's writes (local platform): the old source
// is stopped, pg_rewind'ed onto the promoted target, given back its own configuration with the
// fence cleared, configured as a standby of the target and started; done when it streams.
// Idempotent and crash-safe: a configuration snapshot beside the data directory and a marker
// for the completed pg_rewind let a re-run pick up where a killed one stopped.
#pragma once

#include <chrono>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "pg/conninfo.h"

namespace pgshift {

struct RewindRequest {
  std::string source_data_dir;
  std::string superuser_password;  // for the source's superuser (LocalInstance)
  ConnInfo target;                 // the promoted target, as a superuser (pg_rewind needs it)
  std::string target_data_dir;     // its data directory when on this host ("" if not): its
                                   // sockets are moved aside while pg_rewind reads it
  std::chrono::milliseconds stream_timeout{std::chrono::seconds(60)};
};

Status RewindSourceToFollow(const RewindRequest& request, Clock& clock);

// The lines of postgresql.auto.conf a rewound source needs: its fence setting removed, any old
// primary_conninfo replaced by `primary_conninfo` (a libpq string, quoted here for the file).
// Pure, so it can be checked without a server.
std::string FollowerAutoConf(const std::string& auto_conf, const std::string& primary_conninfo);

}  // namespace pgshift
