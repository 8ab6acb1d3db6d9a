// CdcConsumer: pg_recvlogical as a child process, its slot's state as seen by the server,
// and its output file.
#include "demo/cdc_consumer.h"

#include <signal.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "demo/endpoint.h"
#include "pg/connection.h"
#include "platform/local_instance.h"

namespace pgshift::demo {
namespace {

constexpr auto kConnectBudget = std::chrono::seconds(15);

// True once the slot is (active == want_active); kFailedPrecondition when it does not exist.
Result<bool> SlotActive(PgConnection& c, const std::string& slot) {
  ASSIGN_OR_RETURN(PgResult r,
                   c.Query("SELECT active FROM pg_replication_slots WHERE slot_name = $1", {slot}));
  if (r.rows() == 0) {
    return FailedPrecondition(c.info().Label() + ": no replication slot named '" + slot + "'");
  }
  return r.GetBool(0, "active");
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > 400 ? s.substr(s.size() - 400) : s;
}

}  // namespace

Status CdcConsumer::EnsureSlot(const ConnInfo& server, const std::string& slot) {
  ASSIGN_OR_RETURN(PgConnection c, PgConnection::Connect(server));
  return c.Exec(
      "SELECT pg_create_logical_replication_slot($1, 'test_decoding') WHERE NOT EXISTS "
      "(SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)",
      {slot});
}

Result<std::unique_ptr<CdcConsumer>> CdcConsumer::Start(const ConnInfo& server, Options options) {
  if (options.output_path.empty()) return InvalidArgument("CDC consumer: no output file given");
  std::unique_ptr<CdcConsumer> c(new CdcConsumer(std::move(options)));
  RETURN_IF_ERROR(c->Launch(server));
  return c;
}

CdcConsumer::~CdcConsumer() { Stop(); }

Status CdcConsumer::Launch(const ConnInfo& server) {
  ASSIGN_OR_RETURN(PgConnection admin, PgConnection::Connect(server));
  // A consumer that just stopped may hold the slot for a moment; a second consumer would
  // be refused and retry only after 5 s.
  auto until = std::chrono::steady_clock::now() + kConnectBudget;
  while (true) {
    ASSIGN_OR_RETURN(bool active, SlotActive(admin, options_.slot));
    if (!active) break;
    if (std::chrono::steady_clock::now() >= until) {
      return FailedPrecondition(server.Label() + ": slot '" + options_.slot +
                                "' is in use by another consumer");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ChildConnection conn = ForChildProcess(server);
  ProcessOptions po;
  po.run_as = "postgres";
  po.env = conn.env;
  po.stdout_path = options_.output_path;
  ASSIGN_OR_RETURN(
      ChildProcess p,
      ChildProcess::Start(
          {LocalInstance::BinDir() + "/pg_recvlogical", "-d", conn.conninfo, "-S", options_.slot,
           "--start", "-f", "-", "-s", std::to_string(options_.status_interval.count()), "-F", "0"},
          po));
  process_.emplace(std::move(p));
  while (true) {
    ASSIGN_OR_RETURN(bool active, SlotActive(admin, options_.slot));
    if (active) return Status::Ok();
    if (!process_->Running() || std::chrono::steady_clock::now() >= until) {
      process_.reset();
      return FailedPrecondition(server.Label() + ": pg_recvlogical did not start streaming slot '" +
                                options_.slot + "': " + Tail(options_.output_path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Status CdcConsumer::Restart(const ConnInfo& server) {
  Stop();
  ++restarts_;
  return Launch(server);
}

void CdcConsumer::Stop() {
  if (!process_) return;
  // SIGINT: pg_recvlogical sends its last feedback and exits cleanly.
  process_->Signal(SIGINT);
  if (!process_->Wait(std::chrono::seconds(10))) process_->Signal(SIGKILL);
  process_->Wait(std::chrono::seconds(5));
  process_.reset();
}

bool CdcConsumer::Running() { return process_ && process_->Running(); }

Result<LedgerStream> CdcConsumer::Received() const {
  std::ifstream in(options_.output_path, std::ios::binary);
  if (!in) return Unavailable("cannot read CDC output " + options_.output_path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseLedgerStream(ss.str());
}

Result<DeliveryReport> CdcConsumer::Check(const std::vector<LedgerCommit>& acknowledged) const {
  ASSIGN_OR_RETURN(LedgerStream s, Received());
  return CheckDelivery(s, acknowledged);
}

}  // namespace pgshift::demo
