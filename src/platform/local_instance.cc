// initdb / pg_basebackup / pg_ctl around a data directory, run as the postgres user.
#include "platform/local_instance.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/process.h"

namespace fs = std::filesystem;

namespace pgshift {
namespace {

constexpr const char* kPgUser = "postgres";

ProcessOptions AsPostgres() {
  ProcessOptions o;
  o.run_as = kPgUser;
  o.cwd = "/tmp";
  o.env["LC_ALL"] = "C.UTF-8";
  o.timeout = std::chrono::minutes(5);
  return o;
}

Result<std::string> Run(const std::vector<std::string>& argv, ProcessOptions o = AsPostgres()) {
  ASSIGN_OR_RETURN(CommandOutput out, RunCommand(argv, o));
  if (out.exit_code != 0) {
    return FailedPrecondition(fs::path(argv[0]).filename().string() + " failed (exit " +
                              std::to_string(out.exit_code) + "): " + out.output);
  }
  return out.output;
}

Status WriteFile(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::trunc);
  if (!f) return Unavailable("cannot write " + path);
  f << content;
  f.close();
  return f ? Status::Ok() : Unavailable("cannot write " + path);
}

std::string ConfLines(const std::map<std::string, std::string>& settings) {
  std::string out;
  for (const auto& [k, v] : settings) out += k + " = '" + v + "'\n";
  return out;
}

}  // namespace

std::string LocalInstance::BinDir() {
  const char* env = std::getenv("PGSHIFT_PG_BINDIR");
  return env && *env ? env : "/usr/lib/postgresql/15/bin";
}

std::string LocalInstance::DefaultHba() {
  return "# pgshift: normal access\n"
         "local all all trust\n"
         "host all all 127.0.0.1/32 scram-sha-256\n"
         "host replication all 127.0.0.1/32 scram-sha-256\n";
}

Status LocalInstance::ChownToPostgres(const std::string& path) const {
  if (!RunningAsRoot()) return Status::Ok();
  ASSIGN_OR_RETURN(UserIds ids, LookupUser(kPgUser));
  if (chown(path.c_str(), ids.uid, ids.gid) != 0) {
    return Unavailable("cannot hand " + path + " to the postgres user");
  }
  return Status::Ok();
}

Result<LocalInstance> LocalInstance::Init(const LocalInstanceSpec& spec) {
  std::error_code ec;
  fs::create_directories(spec.data_dir, ec);
  if (ec) return Unavailable("cannot create " + spec.data_dir + ": " + ec.message());
  if (!fs::is_empty(spec.data_dir)) {
    return FailedPrecondition(spec.data_dir + " is not empty; choose a new directory");
  }
  LocalInstance inst(spec);
  RETURN_IF_ERROR(inst.ChownToPostgres(spec.data_dir));
  chmod(spec.data_dir.c_str(), 0700);
  std::string pwfile = spec.data_dir + ".pw";
  RETURN_IF_ERROR(WriteFile(pwfile, spec.superuser_password + "\n"));
  RETURN_IF_ERROR(inst.ChownToPostgres(pwfile));
  auto out = Run({BinDir() + "/initdb", "-D", spec.data_dir, "-U", spec.superuser,
                  "--pwfile=" + pwfile, "--auth-local=trust", "--auth-host=scram-sha-256",
                  "--encoding=UTF8", "--no-instructions", "--data-checksums"});
  fs::remove(pwfile, ec);
  if (!out.ok()) return out.status().Context("initdb " + spec.data_dir);
  std::map<std::string, std::string> base = {
      {"listen_addresses", "127.0.0.1"},
      {"port", std::to_string(spec.port)},
      {"unix_socket_directories", spec.data_dir},
      {"wal_level", "logical"},
      {"max_wal_senders", "10"},
      {"max_replication_slots", "10"},
      {"hot_standby", "on"},
      {"hot_standby_feedback", "on"},
      {"wal_keep_size", "256MB"},
      {"shared_buffers", "64MB"},
      {"fsync", "on"},
      {"logging_collector", "off"},
      {"log_min_messages", "warning"},
      {"wal_receiver_status_interval", "1s"},
      {"wal_sender_timeout", "10s"},
  };
  for (const auto& [k, v] : spec.settings) base[k] = v;
  std::ofstream(spec.data_dir + "/postgresql.conf", std::ios::app) << "\n# pgshift local instance\n"
                                                                   << ConfLines(base);
  RETURN_IF_ERROR(inst.WriteHba(DefaultHba()));
  return inst;
}

Result<LocalInstance> LocalInstance::CreateReplica(const ConnInfo& source,
                                                   const LocalInstanceSpec& spec) {
  std::error_code ec;
  if (fs::exists(spec.data_dir) && !fs::is_empty(spec.data_dir)) {
    return FailedPrecondition("target directory " + spec.data_dir +
                              " is not empty; choose a new directory or remove it");
  }
  fs::create_directories(spec.data_dir, ec);
  if (ec) return Unavailable("cannot create " + spec.data_dir + ": " + ec.message());
  LocalInstance inst(spec);
  RETURN_IF_ERROR(inst.ChownToPostgres(spec.data_dir));
  chmod(spec.data_dir.c_str(), 0700);
  ProcessOptions o = AsPostgres();
  o.timeout = std::chrono::minutes(60);
  if (!source.Get("password").empty()) o.env["PGPASSWORD"] = source.Get("password");
  ConnInfo repl = source.With("password", "");
  // The password travels in the environment, never on a command line others can read.
  std::string dsn = repl.Redacted();
  auto out = Run({BinDir() + "/pg_basebackup", "-d", dsn, "-D", spec.data_dir, "-X", "stream", "-c",
                  "fast", "-R", "--no-password"},
                 o);
  if (!out.ok()) return out.status().Context("pg_basebackup from " + source.Label());
  std::map<std::string, std::string> s = {{"port", std::to_string(spec.port)},
                                          {"unix_socket_directories", spec.data_dir}};
  for (const auto& [k, v] : spec.settings) s[k] = v;
  RETURN_IF_ERROR(inst.SetSettings(s));
  return inst;
}

Result<LocalInstance> LocalInstance::Attach(const std::string& data_dir,
                                            const std::string& superuser_password) {
  if (!fs::exists(data_dir + "/PG_VERSION")) {
    return NotFound(data_dir + " is not a PostgreSQL data directory");
  }
  LocalInstanceSpec spec;
  spec.data_dir = data_dir;
  spec.superuser_password = superuser_password;
  std::regex port_re(R"(^\s*port\s*=\s*'?(\d+)'?)");
  for (const char* f : {"/postgresql.conf", "/pgshift.conf", "/postgresql.auto.conf"}) {
    std::ifstream in(data_dir + f);
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
      if (std::regex_search(line, m, port_re)) spec.port = std::stoi(m[1]);
    }
  }
  if (spec.port == 0) return FailedPrecondition(data_dir + ": no port configured");
  return LocalInstance(spec);
}

Status LocalInstance::SetSettings(const std::map<std::string, std::string>& settings) {
  std::string path = spec_.data_dir + "/pgshift.conf";
  std::map<std::string, std::string> merged;
  {
    std::ifstream in(path);
    std::string line;
    std::regex kv(R"(^\s*(\w+)\s*=\s*'(.*)'\s*$)");
    std::smatch m;
    while (std::getline(in, line)) {
      if (std::regex_match(line, m, kv)) merged[m[1]] = m[2];
    }
  }
  for (const auto& [k, v] : settings) {
    merged[k] = v;
    if (k == "port") spec_.port = std::stoi(v);
  }
  RETURN_IF_ERROR(WriteFile(path, ConfLines(merged)));
  RETURN_IF_ERROR(ChownToPostgres(path));
  std::string conf = spec_.data_dir + "/postgresql.conf";
  std::ifstream in(conf);
  std::stringstream ss;
  ss << in.rdbuf();
  if (ss.str().find("include_if_exists = 'pgshift.conf'") == std::string::npos) {
    std::ofstream(conf, std::ios::app) << "\ninclude_if_exists = 'pgshift.conf'\n";
  }
  return Status::Ok();
}

Status LocalInstance::WriteHba(const std::string& content) {
  std::string path = spec_.data_dir + "/pg_hba.conf";
  std::string tmp = path + ".pgshift-tmp";
  RETURN_IF_ERROR(WriteFile(tmp, content));
  RETURN_IF_ERROR(ChownToPostgres(tmp));
  if (rename(tmp.c_str(), path.c_str()) != 0) return Unavailable("cannot replace " + path);
  return Status::Ok();
}

Result<std::string> LocalInstance::ReadHba() const {
  std::ifstream in(spec_.data_dir + "/pg_hba.conf");
  if (!in) return Unavailable("cannot read " + spec_.data_dir + "/pg_hba.conf");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<std::string> LocalInstance::PgCtl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {BinDir() + "/pg_ctl", "-D", spec_.data_dir};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv);
}

Status LocalInstance::Start() {
  if (Running()) return Status::Ok();
  auto r = PgCtl({"start", "-w", "-t", "120", "-l", spec_.data_dir + "/server.log"});
  if (!r.ok()) {
    std::ifstream log(spec_.data_dir + "/server.log");
    std::stringstream ss;
    ss << log.rdbuf();
    std::string tail = ss.str();
    if (tail.size() > 2000) tail = tail.substr(tail.size() - 2000);
    return r.status().Context("start " + spec_.data_dir + " (server log tail: " + tail + ")");
  }
  return Status::Ok();
}

Status LocalInstance::Stop(bool immediate) {
  if (!Running()) return Status::Ok();
  auto r = PgCtl({"stop", "-w", "-t", "120", "-m", immediate ? "immediate" : "fast"});
  return r.ok() ? Status::Ok() : r.status().Context("stop " + spec_.data_dir);
}

Status LocalInstance::Reload() {
  auto r = PgCtl({"reload"});
  return r.ok() ? Status::Ok() : r.status().Context("reload " + spec_.data_dir);
}

Status LocalInstance::Promote() {
  auto r = PgCtl({"promote", "-W"});
  return r.ok() ? Status::Ok() : r.status().Context("promote " + spec_.data_dir);
}

bool LocalInstance::Running() const {
  std::ifstream pidfile(spec_.data_dir + "/postmaster.pid");
  pid_t pid = 0;
  if (!(pidfile >> pid) || pid <= 0) return false;
  return kill(pid, 0) == 0;
}

ConnInfo LocalInstance::Conn(const std::string& dbname, const std::string& user) const {
  std::string u = user.empty() ? spec_.superuser : user;
  std::string raw =
      "host=127.0.0.1 port=" + std::to_string(spec_.port) + " dbname=" + dbname + " user=" + u;
  auto ci = ConnInfo::Parse(raw, "local:" + std::to_string(spec_.port)).value();
  if (u == spec_.superuser && !spec_.superuser_password.empty()) {
    ci = ci.With("password", spec_.superuser_password);
  }
  return ci;
}

}  // namespace pgshift
