// The fleet tests' shared scenario.
#include "fleet_env.h"

#include <filesystem>
#include <fstream>
#include <thread>

#include "http/http_client.h"
#include "migration/phase.h"
#include "platform/local_instance.h"
#include "proxy/proxy_config.h"

namespace pgshift::testing {
namespace {

constexpr const char* kAppUser = "app";
constexpr const char* kAppPassword = "fleet-app-pw";

void WriteSecret(const std::string& path, const std::string& text) {
  std::ofstream(path) << text << "\n";
  std::filesystem::permissions(path, std::filesystem::perms(0600));
}

}  // namespace

ConnInfo FleetCluster::AppEndpoint() const {
  return ConnInfo::Parse("host=127.0.0.1 port=" + std::to_string(proxy->port()) + " dbname=" +
                             name + " user=" + kAppUser + " sslmode=disable connect_timeout=10",
                         "app")
      .value();
}

nlohmann::json FleetCluster::Route() const {
  HttpRequest request;
  request.method = "GET";
  request.path = "/v1/routes";
  std::ifstream token_file(std::filesystem::path(target_dir).parent_path().string() + "/" + name +
                           "-admin.token");
  std::string token;
  std::getline(token_file, token);
  request.headers["authorization"] = "Bearer " + token;
  auto r = HttpClient("127.0.0.1:" + std::to_string(proxy->admin_port()))
               .Send(request, std::chrono::seconds(10));
  if (!r.ok()) return nlohmann::json::object();
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("routes") || !j["routes"].contains(name)) {
    return nlohmann::json::object();
  }
  return j["routes"][name];
}

FleetEnv::FleetEnv() {
  store_ = PgCluster::Primary();
  passfile_ = dir_.path() + "/store.pgpass";
  WriteSecret(passfile_, "127.0.0.1:" + std::to_string(store_->port()) +
                             ":*:postgres:" + PgCluster::kPassword);
  // The servers and the token command inherit it; the test's own connections give their
  // password explicitly.
  setenv("PGPASSFILE", passfile_.c_str(), 1);
  store_uri_ = "postgresql://postgres@127.0.0.1:" + std::to_string(store_->port()) + "/postgres";
  password_file_ = dir_.path() + "/superuser.pw";
  WriteSecret(password_file_, PgCluster::kPassword);
  config_path_ = dir_.path() + "/server.ini";
  std::ofstream(config_path_) << "[server]\nplatform_team = platform\n\n[team payments]\n"
                                 "approval = off\n";
  token = ServerProcess::CreateToken(store_uri_, "payments", false, "pay-ci");
  EXPECT_EQ(token.rfind("pgs_", 0), 0u) << "token create on the PostgreSQL store failed";
}

FleetEnv::~FleetEnv() {
  for (auto& s : servers_) {
    if (s && s->Running()) s->Kill();
  }
  for (auto& c : clusters_) {
    if (c->ledger) c->ledger->Stop();
    if (c->proxy) c->proxy->Stop();
    if (std::filesystem::exists(c->target_dir + "/PG_VERSION")) {
      auto t = LocalInstance::Attach(c->target_dir, PgCluster::kPassword);
      if (t.ok()) (void)t->Stop(/*immediate=*/true);
    }
  }
}

ServerProcess& FleetEnv::StartServer(size_t i) {
  if (servers_.size() <= i) servers_.resize(i + 1);
  std::string why;
  servers_[i] = ServerProcess::Start(
      {.store_path = store_uri_, .config_path = config_path_, .env = {{"PGPASSFILE", passfile_}}},
      &why);
  if (!servers_[i]) ADD_FAILURE() << "server " << i << " did not start: " << why;
  return *servers_[i];
}

FleetCluster& FleetEnv::AddCluster(const std::string& name, size_t via, int clients) {
  auto c = std::make_unique<FleetCluster>();
  c->name = name;
  c->source = PgCluster::Primary();
  c->source->Sql(std::string("CREATE ROLE ") + kAppUser + " LOGIN PASSWORD '" + kAppPassword +
                 "'; GRANT ALL ON SCHEMA public TO " + kAppUser);
  c->target_dir = dir_.path() + "/" + name + "-target";
  const std::string pw = dir_.path() + "/" + name + "-app.password";
  const std::string token_file = dir_.path() + "/" + name + "-admin.token";
  WriteSecret(pw, kAppPassword);
  WriteSecret(token_file, "admin-" + name + "-token");
  int port = *ReservePort(), admin = *ReservePort();
  const std::string config = dir_.path() + "/" + name + "-proxy.ini";
  std::ofstream(config) << "[proxy]\nlisten = 127.0.0.1:" << port
                        << "\nadmin_listen = 127.0.0.1:" << admin
                        << "\nadmin_token_file = " << token_file
                        << "\nthreads = 1\nclient_tls = off\n\n[cluster " << name
                        << "]\nhost = 127.0.0.1\nport = " << c->source->port()
                        << "\ndatabase = postgres\nuser = " << kAppUser
                        << "\npassword_file = " << pw << "\n";
  auto cfg = proxy::LoadProxyConfig(config);
  if (!cfg.ok()) throw std::runtime_error(cfg.status().ToString());
  auto proxy = proxy::ProxyServer::Start(*cfg);
  if (!proxy.ok()) throw std::runtime_error(proxy.status().ToString());
  c->proxy = std::move(proxy).value();

  ConnInfo src = c->source->Conn();
  nlohmann::json body = {
      {"name", name},
      {"team", "payments"},
      {"source",
       {{"conninfo", "host=127.0.0.1 port=" + src.Get("port") + " user=postgres dbname=postgres"},
        {"password", {{"file", password_file_}}},
        {"data_dir", c->source->data_dir()}}},
      {"proxies",
       {{"cluster", name},
        {"admins",
         {{{"address", "127.0.0.1:" + std::to_string(c->proxy->admin_port())},
           {"token", {{"file", token_file}}}}}}}},
      {"target", {{"kind", "local"}, {"dir", c->target_dir}}}};
  auto reg = servers_.at(via)->Post("/v1/clusters", token, body);
  EXPECT_EQ(reg.status, 201) << reg.body;
  if (clients > 0) {
    FleetCluster* raw = c.get();
    auto load =
        demo::CommitChecker::Start([raw] { return raw->AppEndpoint(); },
                                   {.clients = clients, .think = std::chrono::milliseconds(5)});
    if (!load.ok()) throw std::runtime_error(load.status().ToString());
    c->ledger = std::move(load).value();
  }
  clusters_.push_back(std::move(c));
  return *clusters_.back();
}

void FleetEnv::StartMigration(const std::string& migration, const std::string& cluster,
                              size_t via) {
  auto created = servers_.at(via)->Post(
      "/v1/migrations", token,
      {{"name", migration}, {"cluster", cluster}, {"options", {{"check_window_s", 1}}}});
  ASSERT_EQ(created.status, 201) << created.body;
  auto started = servers_.at(via)->Post("/v1/migrations/" + migration + "/start", token);
  ASSERT_EQ(started.status, 202) << started.body;
}

std::string FleetEnv::Phase(const std::string& migration) const {
  std::string v =
      store_->Value("SELECT phase FROM pgshift.migrations WHERE name = '" + migration + "'");
  ::pgshift::Phase p;
  if (v.empty() || !ParsePhaseValue(std::atoi(v.c_str()), &p)) return "";
  return std::string(PhaseName(p));
}

nlohmann::json FleetEnv::Lease(const std::string& migration) const {
  std::string v = store_->Value(
      "SELECT json_build_object('owner', owner, 'token', token, 'expires_at', expires_at) FROM "
      "pgshift.runner_leases WHERE migration = '" +
      migration + "'");
  auto j = nlohmann::json::parse(v, nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

int64_t FleetEnv::EventCount(const std::string& migration) const {
  return std::atoll(
      store_->Value("SELECT count(*) FROM pgshift.events WHERE migration = '" + migration + "'")
          .c_str());
}

std::string FleetEnv::WaitForPhase(const std::string& migration, const std::string& phases,
                                   std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string p = Phase(migration);
    if (!p.empty() && ("," + phases + ",").find("," + p + ",") != std::string::npos) return p;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return "";
}

uint64_t FleetEnv::StopLoadAndCountLost(FleetCluster& c) {
  if (!c.ledger) return 0;
  c.ledger->Stop();
  nlohmann::json route = c.Route();
  int port = route.value("port", 0);
  ConnInfo primary = c.source->Conn().With("port", std::to_string(port));
  auto lost = c.ledger->CountLostCommits(primary);
  if (!lost.ok()) {
    ADD_FAILURE() << "cannot count lost commits on port " << port << ": " << lost.status().ToString();
    return ~uint64_t{0};
  }
  return *lost;
}

bool FleetEnv::AppCanWrite(int port) {
  auto app = ConnInfo::Parse("host=127.0.0.1 port=" + std::to_string(port) +
                                 " dbname=postgres user=" + kAppUser + " password=" + kAppPassword +
                                 " connect_timeout=5",
                             "app");
  auto c = PgConnection::Connect(*app);
  if (!c.ok()) return false;
  return c->Exec("CREATE TABLE IF NOT EXISTS app_probe(x int); INSERT INTO app_probe VALUES (1)")
      .ok();
}

}  // namespace pgshift::testing
