// PgbenchLoad: running, supervising and reading pgbench.
#include "demo/pgbench_load.h"

#include <signal.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "common/process.h"
#include "platform/local_instance.h"

namespace pgshift::demo {
namespace {

constexpr auto kRetryPause = std::chrono::milliseconds(20);

std::optional<double> NumberAfter(std::string_view line, std::string_view key) {
  auto pos = line.find(key);
  if (pos == std::string_view::npos) return std::nullopt;
  std::string rest(line.substr(pos + key.size()));
  try {
    return std::stod(rest);
  } catch (...) {
    return std::nullopt;
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

PgbenchRunTotals ParsePgbenchOutput(std::string_view output) {
  PgbenchRunTotals t;
  double progress_estimate = 0;
  double last_progress_at = 0;
  size_t start = 0;
  while (true) {
    size_t nl = output.find('\n', start);
    if (nl == std::string_view::npos) break;  // a killed run's partial last line
    std::string_view line = output.substr(start, nl - start);
    start = nl + 1;
    if (auto n = NumberAfter(line, "number of transactions actually processed: ")) {
      t.transactions = static_cast<uint64_t>(*n);
      t.summary_seen = true;
    } else if (auto f = NumberAfter(line, "number of failed transactions: ")) {
      t.failed = static_cast<uint64_t>(*f);
    } else if (line.find("client ") != std::string_view::npos &&
               line.find(" aborted") != std::string_view::npos) {
      ++t.aborted_clients;
    } else if (line.substr(0, 10) == "progress: ") {
      // "progress: 3.0 s, 512.4 tps, lat ..." covers the interval since the previous line.
      auto at = NumberAfter(line, "progress: ");
      auto tps_pos = line.find(" s, ");
      if (at && tps_pos != std::string_view::npos) {
        if (auto tps = NumberAfter(line, " s, ")) {
          progress_estimate += *tps * (*at - last_progress_at);
          last_progress_at = *at;
        }
      }
    }
  }
  if (!t.summary_seen) t.transactions = static_cast<uint64_t>(progress_estimate + 0.5);
  return t;
}

Status PgbenchLoad::Init(const ConnInfo& server, int scale) {
  if (scale < 1) return InvalidArgument("pgbench scale must be at least 1");
  ChildConnection conn = ForChildProcess(server);
  ProcessOptions po;
  po.run_as = "postgres";
  po.env = conn.env;
  ASSIGN_OR_RETURN(CommandOutput out, RunCommand({LocalInstance::BinDir() + "/pgbench", "-i", "-q",
                                                  "-s", std::to_string(scale), conn.conninfo},
                                                 po));
  if (out.exit_code != 0) {
    return Unavailable(server.Label() + ": pgbench -i failed (exit " +
                       std::to_string(out.exit_code) + "): " + out.output);
  }
  return Status::Ok();
}

Result<std::unique_ptr<PgbenchLoad>> PgbenchLoad::Start(EndpointFn endpoint, Options options) {
  if (options.clients < 1) return InvalidArgument("pgbench load: clients must be at least 1");
  if (options.log_dir.empty()) return InvalidArgument("pgbench load: no log directory given");
  std::unique_ptr<PgbenchLoad> load(new PgbenchLoad(std::move(endpoint), std::move(options)));
  load->supervisor_ = std::thread([p = load.get()] { p->Supervise(); });
  return load;
}

PgbenchLoad::~PgbenchLoad() { Stop(); }

void PgbenchLoad::Stop() {
  stop_ = true;
  if (supervisor_.joinable()) supervisor_.join();
}

PgbenchLoad::Report PgbenchLoad::report() const {
  std::lock_guard<std::mutex> l(mu_);
  return report_;
}

void PgbenchLoad::Supervise() {
  auto end = std::chrono::steady_clock::now() + options_.duration;
  for (int run = 0; !stop_; ++run) {
    auto left =
        std::chrono::duration_cast<std::chrono::seconds>(end - std::chrono::steady_clock::now());
    if (left.count() < 1) break;
    PgbenchRunTotals t = RunOnce(run, left);
    {
      std::lock_guard<std::mutex> l(mu_);
      report_.transactions += t.transactions;
      report_.failed += t.failed;
      report_.aborted_clients += t.aborted_clients;
      report_.estimated = report_.estimated || (!t.summary_seen && t.transactions > 0);
      if (!stop_ && std::chrono::steady_clock::now() + std::chrono::seconds(1) < end) {
        if (t.transactions > 0) {
          ++report_.restarts;
        } else {
          ++report_.failed_starts;
        }
      }
    }
    if (!stop_ && t.transactions == 0) std::this_thread::sleep_for(kRetryPause);
  }
}

PgbenchRunTotals PgbenchLoad::RunOnce(int run, std::chrono::seconds length) {
  std::string path = options_.log_dir + "/pgbench-" + std::to_string(run) + ".log";
  ChildConnection conn = ForChildProcess(endpoint_());
  ProcessOptions po;
  po.run_as = "postgres";
  po.env = conn.env;
  po.env["PGAPPNAME"] = "pgshift-demo-pgbench";
  po.stdout_path = path;
  auto child = ChildProcess::Start(
      {LocalInstance::BinDir() + "/pgbench", "-n", "-c", std::to_string(options_.clients), "-j",
       "1", "-T", std::to_string(length.count()), "--progress=1", conn.conninfo},
      po);
  if (!child.ok()) return {};
  while (!stop_ && !child->Wait(std::chrono::milliseconds(50))) {
  }
  if (stop_ && child->Running()) {
    child->Signal(SIGKILL);
    child->Wait(std::chrono::seconds(5));
  }
  return ParsePgbenchOutput(ReadFile(path));
}

}  // namespace pgshift::demo
