// Sessions on a test source as the roles the fence tests need: an application role, a
// superuser session that is not pgshift's, an asynchronous write that hangs on COMMIT.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>

#include "fixture/pg_cluster.h"
#include "pg/connection.h"
#include "platform/platform.h"

namespace pgshift::testing {

inline constexpr const char* kAppPassword = "app-role-secret";

// Table t and the role app (password kAppPassword) that may write to it.
inline void CreateAppSchema(const PgCluster& source) {
  source.Sql("CREATE TABLE t (id int PRIMARY KEY, v text)");
  source.Sql("CREATE ROLE app LOGIN PASSWORD '" + std::string(kAppPassword) + "'");
  source.Sql("GRANT ALL ON TABLE t TO app");
}

inline Result<PgConnection> ConnectAsApp(const PgCluster& source) {
  return PgConnection::Connect(source.ConnAs("app", kAppPassword).With("application_name", "app"));
}

// A superuser session that is not pgshift's own (another application name).
inline PgConnection ConnectAsOtherSuperuserSession(const PgCluster& source) {
  auto c = PgConnection::Connect(source.Conn().With("application_name", "psql"));
  if (!c.ok()) throw std::runtime_error(c.status().ToString());
  return std::move(c).value();
}

inline std::string ReadFileText(const std::string& path) {
  auto text = [&] {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }();
  return text;
}

inline std::string HbaOf(const PgCluster& c) { return ReadFileText(c.data_dir() + "/pg_hba.conf"); }

inline FenceOptions FenceAs(const std::string& user,
                            std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  FenceOptions o;
  o.orchestrator_user = user;
  o.deadline = deadline;
  return o;
}

// Polls `sql` on `c` until it returns `want` (fails the test after 30 s).
inline void WaitForValue(const PgCluster& c, const std::string& sql, const std::string& want) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::string got;
  while (std::chrono::steady_clock::now() < end) {
    got = c.Value(sql);
    if (got == want) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL() << sql << " returned '" << got << "', expected '" << want << "'";
}

// Prints how long something took, for the report (never asserted: timing varies by machine).
inline void PrintMeasurement(const std::string& name,
                             std::chrono::steady_clock::time_point started) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started);
  std::cout << "[measure] " << name << "=" << ms.count() << "\n";
}

}  // namespace pgshift::testing
