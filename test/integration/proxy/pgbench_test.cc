// pgbench through the proxy over mutual TLS: simple and prepared protocol, no failures.
#include <gtest/gtest.h>

#include "common/process.h"
#include "platform/local_instance.h"
#include "proxy_harness.h"

namespace pgshift::testing {
namespace {

TEST(ProxyPgbench, SelectOnlyAndPreparedRunCleanThroughTheProxy) {
  ProxyHarness h;
  auto init =
      RunCommand({LocalInstance::BinDir() + "/pgbench", "-i", "-s", "1", "-q", "-h", "127.0.0.1",
                  "-p", std::to_string(h.primary->port()), "-U", "app", "appdb"},
                 ProcessOptions{.env = {{"PGPASSWORD", kAppPassword}}});
  ASSERT_TRUE(init.ok());
  ASSERT_EQ(init->exit_code, 0) << init->output;
  proxy::ClientCert cert = h.pki.Client("svc-orders");
  for (const char* mode : {"simple", "prepared", "extended"}) {
    auto run = RunCommand(
        {LocalInstance::BinDir() + "/pgbench", "-S", "-c", "4", "-j", "2", "-t", "500", "-M", mode,
         "-h", "127.0.0.1", "-p", std::to_string(h.proxy->port()), "-U", "app", "orders"},
        ProcessOptions{.env = {{"PGSSLMODE", "verify-full"},
                               {"PGSSLROOTCERT", h.pki.ca_cert()},
                               {"PGSSLCERT", cert.cert},
                               {"PGSSLKEY", cert.key}}});
    ASSERT_TRUE(run.ok());
    EXPECT_EQ(run->exit_code, 0) << mode << ": " << run->output;
    EXPECT_NE(run->output.find("number of transactions actually processed: 2000/2000"),
              std::string::npos)
        << run->output;
  }
}

}  // namespace
}  // namespace pgshift::testing
