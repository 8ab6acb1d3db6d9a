// The checks, one file each, every one a pure function of facts already read (ClusterFacts,
// replication samples, connection outcomes), so each can be unit-tested with hand-built facts.
// Each returns a CheckResult named as below, with its evidence, the SQL behind it and advice.
#pragma once

#include <string>
#include <vector>

#include "checks/check.h"
#include "checks/cluster_facts.h"
#include "checks/replication_window.h"
#include "checks/wal_probe.h"

namespace pgshift {

// "connectivity": one attempt per endpoint; fail naming each endpoint that could not be
// reached or refused the login, with the classified reason.
struct EndpointAttempt {
  std::string role;   // "source" / "target"
  std::string label;  // ConnInfo::Label()
  Status status;      // of connecting and reading facts
};
CheckResult CheckConnectivity(const std::vector<EndpointAttempt>& attempts);

// "privileges": each role must be superuser or a member of pg_monitor to read replication
// state and every setting (fail); not superuser warns, since fencing and promotion need it.
CheckResult CheckPrivileges(const ClusterFacts& source, const ClusterFacts& target);

// "replica_identity": the target is a streaming physical replica of this very source: same
// system identifier and timeline, streaming, and (the probe) holding WAL the source just wrote.
// A probe that could not run warns; one that found other WAL, or none, fails.
CheckResult CheckReplicaIdentity(const ClusterFacts& source, const ClusterFacts& target,
                                 const WalProbe& probe);

// "major_version": same PostgreSQL major version.
CheckResult CheckMajorVersion(const ClusterFacts& source, const ClusterFacts& target);

// "hot_standby_parameters": the settings a standby must hold at least as high as its primary.
CheckResult CheckHotStandbyParameters(const ClusterFacts& source, const ClusterFacts& target);

// "wal_level": replica or logical on the source; logical on both when the source has
// logical slots (they are recreated on the target once it is the primary).
CheckResult CheckWalLevel(const ClusterFacts& source, const ClusterFacts& target);

// "shared_preload_libraries": every library preloaded on the source is preloaded on the target.
CheckResult CheckSharedPreloadLibraries(const ClusterFacts& source, const ClusterFacts& target);

// "settings_diff": other settings whose values differ (warn), ignoring those expected to
// differ between a primary and its standby and those judged by the checks above.
CheckResult CheckSettingsDiff(const ClusterFacts& source, const ClusterFacts& target);

// "extension_parity": every extension installed on the source, in every database, is
// available on the target's installation at the same version.
CheckResult CheckExtensionParity(const ClusterFacts& source, const ClusterFacts& target);

// "slot_health": the source's slots: lost WAL fails; unreserved, inactive logical slots and
// inactive slots retaining more than stale_slot_bytes warn.
CheckResult CheckSlotHealth(const ClusterFacts& source, uint64_t stale_slot_bytes);

// "wal_rates": WAL generation rate on the source against replay rate on the target over the
// window; warn when the target falls behind (replay slower than generation and lag grew).
CheckResult CheckWalRates(const std::vector<ReplicationSample>& samples);

// "replication_lag": pass only if every sample of the window is under both thresholds.
CheckResult CheckReplicationLag(const std::vector<ReplicationSample>& samples,
                                uint64_t max_lag_bytes, double max_lag_seconds);

// "clients_outside_proxy": client backends on the source that come neither through a
// registered proxy (its backend roles, `proxy_roles`) nor from pgshift itself (the connecting
// role with an application_name starting "pgshift"): address, role, application, database
// and start of each, as a warning (fail when `block`). The cutover's fence cuts them off and
// nothing holds them; one that then writes to the target's address directly is kept out
// until the target's slots exist (I8), but its own errors are its own.
CheckResult CheckClientsOutsideProxy(const ClusterFacts& source,
                                     const std::vector<std::string>& proxy_roles, bool block);

// A check that could not be judged because its facts could not be read (fail).
CheckResult NotJudged(std::string name, const std::string& why, std::string query);

}  // namespace pgshift
