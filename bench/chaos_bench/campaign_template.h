// CampaignTemplate: what every chaos round starts from, made once per campaign instead of once
// per round. initdb, the application role, `pgbench -i`, the ledger and probe tables cost most
// of a round's setup (about 15 s of 25 on the shared 2-core machine); a stopped, checkpointed
// copy of that cluster is copied with `cp -a` into each round's directory (well under a second)
// and given the round's own port and socket directory. The development PKI (CA, server and
// client certificates, made with the openssl command) is shared the same way. Rounds never
// write into the template: each runs on its own copy, so rounds stay independent of each other
// and of how many run at a time.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "platform/local_instance.h"
#include "proxy/dev_pki.h"

namespace pgshift::chaos {

struct TemplateNames {
  std::string app_user;  // the application role (pgbench, the ledger, the proxies' backend)
  int ledger_clients = 0;
};

class CampaignTemplate {
 public:
  // Builds the template cluster (stopped) and the PKI under `dir`.
  static Result<CampaignTemplate> Create(const std::string& dir, const TemplateNames& names);

  // A running copy of the template cluster in `data_dir` (which must not exist), on `port`.
  Result<LocalInstance> StartCopy(const std::string& data_dir, int port) const;

  const std::string& superuser_password() const { return password_; }
  const std::string& app_password() const { return app_password_; }
  const proxy::DevPki& pki() const { return *pki_; }
  const proxy::ClientCert& client() const { return *client_; }

 private:
  std::string source_dir_, password_, app_password_;
  std::optional<proxy::DevPki> pki_;
  std::optional<proxy::ClientCert> client_;
};

}  // namespace pgshift::chaos
