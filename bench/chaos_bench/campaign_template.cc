// The per-campaign template cluster and PKI every chaos round copies (see campaign_template.h).
#include "campaign_template.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "common/process.h"
#include "demo/commit_checker.h"
#include "demo/pgbench_load.h"
#include "pg/connection.h"
#include "platform/port_reservation.h"

namespace fs = std::filesystem;

namespace pgshift::chaos {
namespace {

std::string RandomSecret() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", rd(), rd(), rd(), rd());
}

Status FillTemplate(LocalInstance& src, const TemplateNames& names,
                    const std::string& app_password) {
  {
    ASSIGN_OR_RETURN(PgConnection c, PgConnection::Connect(src.Conn()));
    RETURN_IF_ERROR(
        c.Exec(fmt::format("CREATE ROLE {0} LOGIN PASSWORD {1}; "
                           "GRANT ALL ON SCHEMA public TO {0}",
                           names.app_user, QuoteLiteral(c, app_password))));
  }
  ConnInfo app = src.Conn().With("user", names.app_user).With("password", app_password);
  RETURN_IF_ERROR(demo::PgbenchLoad::Init(app, 1));
  RETURN_IF_ERROR(demo::CreateLedgerTables(app, names.ledger_clients));
  ASSIGN_OR_RETURN(PgConnection c, PgConnection::Connect(app));
  RETURN_IF_ERROR(c.Exec("CREATE TABLE chaos_probe (at timestamptz)"));
  // A checkpoint now keeps the copy's WAL short (a round's server then starts without replay).
  ASSIGN_OR_RETURN(PgConnection su, PgConnection::Connect(src.Conn()));
  return su.Exec("CHECKPOINT");
}

}  // namespace

Result<CampaignTemplate> CampaignTemplate::Create(const std::string& dir,
                                                  const TemplateNames& names) {
  CampaignTemplate t;
  t.password_ = RandomSecret();
  t.app_password_ = RandomSecret();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Unavailable("chaos template: cannot create " + dir + ": " + ec.message());
  chmod(dir.c_str(), 0755);
  if (RunningAsRoot()) {
    ASSIGN_OR_RETURN(UserIds ids, LookupUser("postgres"));
    if (chown(dir.c_str(), ids.uid, ids.gid) != 0) {
      return Unavailable("chaos template: cannot hand " + dir + " to the postgres user");
    }
  }
  t.source_dir_ = dir + "/source";
  ASSIGN_OR_RETURN(int port, ReservePort());
  LocalInstanceSpec spec;
  spec.data_dir = t.source_dir_;
  spec.port = port;
  spec.superuser_password = t.password_;
  spec.settings = {{"max_connections", "100"}};
  ASSIGN_OR_RETURN(LocalInstance src, LocalInstance::Init(spec));
  RETURN_IF_ERROR(src.Start().Context("chaos template: start the template source"));
  Status filled = FillTemplate(src, names, t.app_password_);
  Status stopped = src.Stop();
  RETURN_IF_ERROR(filled.Context("chaos template: fill the template source"));
  RETURN_IF_ERROR(stopped.Context("chaos template: stop the template source"));
  fs::remove(t.source_dir_ + "/server.log", ec);
  ASSIGN_OR_RETURN(proxy::DevPki pki, proxy::DevPki::Create(dir + "/pki"));
  t.pki_.emplace(std::move(pki));
  ASSIGN_OR_RETURN(proxy::ClientCert client, t.pki_->Client("chaos-app"));
  t.client_.emplace(std::move(client));
  return t;
}

Result<LocalInstance> CampaignTemplate::StartCopy(const std::string& data_dir, int port) const {
  // cp -a keeps the postgres user's ownership and the 0700 mode the server insists on.
  ASSIGN_OR_RETURN(CommandOutput cp, RunCommand({"cp", "-a", source_dir_, data_dir}));
  if (cp.exit_code != 0) {
    return Unavailable("chaos round: copy the template source to " + data_dir + ": " + cp.output);
  }
  ASSIGN_OR_RETURN(LocalInstance inst, LocalInstance::Attach(data_dir, password_));
  // pgshift.conf is included last: the copy's own port and socket directory win.
  RETURN_IF_ERROR(
      inst.SetSettings({{"port", std::to_string(port)}, {"unix_socket_directories", data_dir}}));
  ASSIGN_OR_RETURN(LocalInstance copy, LocalInstance::Attach(data_dir, password_));
  RETURN_IF_ERROR(copy.Start().Context("chaos round: start the source copied from the template"));
  return copy;
}

}  // namespace pgshift::chaos
