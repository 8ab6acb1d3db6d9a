// `pgshift demo --serve` as a newcomer runs it: the real binary until it prints the page's
// address and the tokens; then, through the API with those tokens, the three migrations reach
// their ends (two completed, one rolled back), each team sees only its own and the platform
// sees all; the page is served; SIGTERM stops everything (exit 0, no server left running,
// the work directory removed).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "common/process.h"
#include "fixture/temp_dir.h"
#include "http/http_client.h"

namespace pgshift::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Printed {
  std::string url;                           // "http://127.0.0.1:PORT"
  std::map<std::string, std::string> token;  // team -> token
};

// What the demo printed so far, once it printed the page and three tokens.
std::optional<Printed> ReadPrinted(const std::string& out) {
  std::smatch m;
  static const std::regex kPage("\\n  page: (http://[0-9.]+:[0-9]+)/\\n");
  if (!std::regex_search(out, m, kPage)) return std::nullopt;
  Printed p{m[1], {}};
  static const std::regex kToken("\\n  token ([a-z]+): (pgs_[A-Za-z0-9_-]{43})(?=\\n)");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), kToken); it != std::sregex_iterator();
       ++it) {
    p.token[(*it)[1]] = (*it)[2];
  }
  if (p.token.size() < 3) return std::nullopt;
  return p;
}

json Get(const Printed& p, const std::string& path, const std::string& team, int* status) {
  HttpClient http(p.url.substr(std::string("http://").size()));
  HttpRequest r;
  r.method = "GET";
  r.path = path;
  r.headers["authorization"] = "Bearer " + p.token.at(team);
  auto answer = http.Send(r, 10s);
  if (!answer.ok()) {
    *status = 0;
    return nullptr;
  }
  *status = answer->status;
  return json::parse(answer->body, nullptr, false);
}

std::set<std::string> Names(const json& list) {
  std::set<std::string> out;
  for (const auto& m : list.value("migrations", json::array())) out.insert(m.value("name", ""));
  return out;
}

TEST(DemoServe, MigratesThreeClustersThroughTheServerAndStopsCleanly) {
  TempDir tmp("pgshift-demo-serve-it");
  const std::string work = tmp.path() + "/demo";
  const std::string out_path = tmp.path() + "/stdout";
  auto demo = ChildProcess::Start({PGSHIFT_BINARY, "demo", "--serve", "--dir", work},
                                  {.stdout_path = out_path});
  ASSERT_TRUE(demo.ok()) << demo.status().ToString();

  std::optional<Printed> printed;
  for (auto until = std::chrono::steady_clock::now() + 240s;
       !printed && std::chrono::steady_clock::now() < until && demo->Running();) {
    std::this_thread::sleep_for(500ms);
    printed = ReadPrinted(ReadFile(out_path));
  }
  ASSERT_TRUE(printed) << "the demo did not print its page and tokens:\n" << ReadFile(out_path);
  ASSERT_TRUE(printed->token.count("platform") && printed->token.count("payments") &&
              printed->token.count("search"))
      << ReadFile(out_path);

  // The three migrations reach their ends, as the platform sees them.
  std::map<std::string, std::string> phase;
  for (auto until = std::chrono::steady_clock::now() + 420s;
       std::chrono::steady_clock::now() < until;) {
    int status = 0;
    json all = Get(*printed, "/v1/migrations", "platform", &status);
    ASSERT_EQ(status, 200) << all.dump();
    phase.clear();
    int ended = 0;
    for (const auto& m : all.value("migrations", json::array())) {
      std::string p = m.value("phase", "");
      phase[m.value("name", "")] = p;
      ended += p == "completed" || p == "rolled_back" || p == "failed";
    }
    if (phase.size() == 3 && ended == 3) break;
    std::this_thread::sleep_for(1s);
  }
  EXPECT_EQ(phase["orders-move"], "completed");
  EXPECT_EQ(phase["catalog-move"], "completed");
  EXPECT_EQ(phase["ledger-move"], "rolled_back");
  if (::testing::Test::HasFailure()) {
    // What happened to each, and what the demo and its server said.
    for (const char* name : {"orders-move", "catalog-move", "ledger-move"}) {
      int s = 0;
      json m = Get(*printed, std::string("/v1/migrations/") + name, "platform", &s);
      ADD_FAILURE() << name << ": " << m.value("phase", "?") << " "
                    << m.value("events", json::array()).dump() << " rollback_reason "
                    << m.value("rollback_reason", "") << " failed_in " << m.value("failed_in", "");
    }
    ADD_FAILURE() << "demo output:\n"
                  << ReadFile(out_path) << "\nserver log:\n"
                  << ReadFile(work + "/server.log");
  }

  // A team sees its own only; another team's migration is not found.
  int status = 0;
  EXPECT_EQ(Names(Get(*printed, "/v1/migrations", "payments", &status)),
            (std::set<std::string>{"orders-move", "ledger-move"}));
  EXPECT_EQ(Names(Get(*printed, "/v1/migrations", "search", &status)),
            (std::set<std::string>{"catalog-move"}));
  Get(*printed, "/v1/migrations/catalog-move", "payments", &status);
  EXPECT_EQ(status, 404);
  json whoami = Get(*printed, "/v1/whoami", "search", &status);
  EXPECT_EQ(whoami.value("team", ""), "search");

  // The page is served at the address printed.
  HttpClient http(printed->url.substr(std::string("http://").size()));
  auto page = http.Send({.method = "GET", .path = "/"}, 10s);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->content_type.find("text/html"), std::string::npos);

  // Ended as the demo says, then serving until interrupted.
  for (auto until = std::chrono::steady_clock::now() + 30s;
       std::chrono::steady_clock::now() < until &&
       ReadFile(out_path).find("serving until interrupted") == std::string::npos;) {
    std::this_thread::sleep_for(200ms);
  }
  const std::string said = ReadFile(out_path);
  EXPECT_NE(said.find("migration ledger-move: rolled_back"), std::string::npos) << said;
  EXPECT_NE(said.find("serving until interrupted"), std::string::npos) << said;

  // SIGTERM: everything stops, cleanly.
  demo->Signal(SIGTERM);
  auto code = demo->Wait(120s);
  ASSERT_TRUE(code.has_value()) << "the demo did not stop within 120 s of SIGTERM";
  EXPECT_EQ(*code, 0) << ReadFile(out_path);
  if (*code != 0) ADD_FAILURE() << "server log:\n" << ReadFile(work + "/server.log");
  EXPECT_NE(ReadFile(out_path).find("stopped"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(work)) << "the work directory is left behind";
  // No process runs from the work directory any more (servers, pgbench, pgshift server).
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string cmdline = ReadFile(entry.path().string() + "/cmdline");
    for (char& c : cmdline) c = c == '\0' ? ' ' : c;
    EXPECT_EQ(cmdline.find(work + "/"), std::string::npos) << "still running: " << cmdline;
  }
}

}  // namespace
}  // namespace pgshift::testing
