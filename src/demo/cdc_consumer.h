// CdcConsumer: a real CDC consumer for the demo and the tests: pg_recvlogical streaming a
// test_decoding slot into a file, which can be moved to another server (the promoted
// target) and whose output can be checked against the application's acknowledged commits.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/process.h"
#include "common/status.h"
#include "demo/ledger_stream.h"
#include "pg/conninfo.h"

namespace pgshift::demo {

class CdcConsumer {
 public:
  struct Options {
    std::string slot = "pgshift_demo_cdc";
    std::string output_path;                  // appended to across restarts; required
    std::chrono::seconds status_interval{1};  // how often the consumer confirms (-s)
  };

  // Creates a test_decoding slot `slot` in `server`'s database unless it exists.
  static Status EnsureSlot(const ConnInfo& server, const std::string& slot);

  // Starts pg_recvlogical on `server` (whose dbname is the slot's database) and waits until
  // the slot shows it as connected. kFailedPrecondition with pg_recvlogical's own words when
  // it does not connect (e.g. no such slot).
  static Result<std::unique_ptr<CdcConsumer>> Start(const ConnInfo& server, Options options);
  ~CdcConsumer();
  CdcConsumer(const CdcConsumer&) = delete;
  CdcConsumer& operator=(const CdcConsumer&) = delete;

  // Stops the current pg_recvlogical (it confirms what it wrote, then exits) and starts one
  // against `server`, appending to the same file.
  Status Restart(const ConnInfo& server);
  // Takes effect at the next Restart: a consumer that confirms seldom (a test's slow reader).
  void SetStatusInterval(std::chrono::seconds interval) { options_.status_interval = interval; }
  // Stops pg_recvlogical. Idempotent.
  void Stop();
  bool Running();
  int restarts() const { return restarts_; }

  // What has been received so far.
  Result<LedgerStream> Received() const;
  // Received() checked against the application's acknowledged commits.
  Result<DeliveryReport> Check(const std::vector<LedgerCommit>& acknowledged) const;

 private:
  explicit CdcConsumer(Options options) : options_(std::move(options)) {}
  Status Launch(const ConnInfo& server);

  Options options_;
  std::optional<ChildProcess> process_;
  int restarts_ = 0;
};

}  // namespace pgshift::demo
