// LocalInstance: a PostgreSQL 15 server on this host, in a data directory pgshift owns.
// Used by the local platform (the demo builds source and target this way) and by the test
// fixture. Server processes run as the `postgres` user when pgshift runs as root, because
// PostgreSQL refuses root. Servers listen on 127.0.0.1 only, with their socket in the data
// directory, so two instances never share anything but the binaries.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "pg/conninfo.h"

namespace pgshift {

struct LocalInstanceSpec {
  std::string data_dir;
  int port = 0;
  std::string superuser = "postgres";
  std::string superuser_password;  // host connections use SCRAM with this password
  // Written to postgresql.conf after initdb (or, for replicas, postgresql.auto.conf).
  std::map<std::string, std::string> settings;
};

class LocalInstance {
 public:
  // initdb + configuration for a primary able to feed physical and logical replicas.
  // Assumes data_dir does not exist or is empty; leaves a stopped, configured cluster.
  static Result<LocalInstance> Init(const LocalInstanceSpec& spec);
  // pg_basebackup from `source` into spec.data_dir, configured as a streaming standby
  // (standby.signal, primary_conninfo) listening on spec.port. Leaves it stopped.
  static Result<LocalInstance> CreateReplica(const ConnInfo& source, const LocalInstanceSpec& spec);
  // An existing data directory; reads the port from its configuration.
  static Result<LocalInstance> Attach(const std::string& data_dir,
                                      const std::string& superuser_password);

  Status Start();
  Status Stop(bool immediate = false);
  Status Reload();
  bool Running() const;
  // pg_ctl promote; does not wait (callers poll pg_is_in_recovery()).
  Status Promote();

  // Replaces pg_hba.conf; callers Reload() afterwards.
  Status WriteHba(const std::string& content);
  Result<std::string> ReadHba() const;
  // Appends to postgresql.auto.conf-free postgresql.conf include (pgshift.conf).
  Status SetSettings(const std::map<std::string, std::string>& settings);

  ConnInfo Conn(const std::string& dbname = "postgres", const std::string& user = "") const;
  const std::string& data_dir() const { return spec_.data_dir; }
  int port() const { return spec_.port; }
  const LocalInstanceSpec& spec() const { return spec_; }

  static std::string BinDir();  // PGSHIFT_PG_BINDIR or Debian's PostgreSQL 15 location
  static std::string DefaultHba();

 private:
  explicit LocalInstance(LocalInstanceSpec spec) : spec_(std::move(spec)) {}
  Status ChownToPostgres(const std::string& path) const;
  Result<std::string> PgCtl(const std::vector<std::string>& args) const;
  LocalInstanceSpec spec_;
};

}  // namespace pgshift
