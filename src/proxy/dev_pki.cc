// Certificate generation through the openssl command line tool.
#include "proxy/dev_pki.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "common/process.h"

namespace pgshift::proxy {
namespace {

Status Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  ASSIGN_OR_RETURN(CommandOutput out, RunCommand(argv));
  if (out.exit_code != 0) {
    return Internal("openssl " + args[0] + " failed: " + out.output.substr(0, 500));
  }
  return Status::Ok();
}

Status MakeCa(const std::string& cert, const std::string& key, const std::string& cn) {
  return Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                  "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=" + cn,
                  "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                  "keyUsage=critical,keyCertSign,cRLSign"});
}

std::string SafeName(const std::string& s) {
  std::string out;
  for (char c : s) out.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return out;
}

}  // namespace

Result<DevPki> DevPki::Create(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Internal("cannot create " + dir + ": " + ec.message());
  DevPki p;
  p.dir = dir;
  p.ca_cert = dir + "/ca.crt";
  p.ca_key = dir + "/ca.key";
  RETURN_IF_ERROR(MakeCa(p.ca_cert, p.ca_key, "pgshift dev CA"));
  ASSIGN_OR_RETURN(ClientCert server, p.Issue("server", "localhost", "DNS:localhost,IP:127.0.0.1",
                                              p.ca_cert, p.ca_key));
  p.server_cert = server.cert;
  p.server_key = server.key;
  return p;
}

Result<ClientCert> DevPki::Issue(const std::string& name, const std::string& cn,
                                 const std::string& san, const std::string& ca_cert,
                                 const std::string& ca_key) const {
  std::string base = dir + "/" + name;
  ClientCert c{base + ".crt", base + ".key"};
  RETURN_IF_ERROR(
      Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
               "-keyout", c.key, "-out", base + ".csr", "-subj", "/CN=" + cn}));
  std::string ext = base + ".ext";
  {
    std::ofstream f(ext);
    f << "basicConstraints=CA:FALSE\n";
    if (!san.empty()) f << "subjectAltName=" << san << "\n";
  }
  RETURN_IF_ERROR(Openssl({"x509", "-req", "-in", base + ".csr", "-CA", ca_cert, "-CAkey", ca_key,
                           "-CAcreateserial", "-out", c.cert, "-days", "30", "-extfile", ext}));
  chmod(c.key.c_str(), 0600);
  return c;
}

Result<ClientCert> DevPki::Client(const std::string& cn, const std::string& uri_san) const {
  std::string name = "client-" + SafeName(cn) + (uri_san.empty() ? "" : "-uri");
  return Issue(name, cn, uri_san.empty() ? "" : "URI:" + uri_san, ca_cert, ca_key);
}

Result<ClientCert> DevPki::UntrustedClient(const std::string& cn) const {
  std::string other_cert = dir + "/other-ca.crt", other_key = dir + "/other-ca.key";
  if (!std::filesystem::exists(other_cert))
    RETURN_IF_ERROR(MakeCa(other_cert, other_key, "untrusted CA"));
  return Issue("untrusted-" + SafeName(cn), cn, "", other_cert, other_key);
}

}  // namespace pgshift::proxy
