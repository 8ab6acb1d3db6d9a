// CarriedState: what a session has set up on its backend that a switch must recreate on
// the new one, learned by watching the client's messages: named prepared statements (the
// Parse messages themselves, replayed verbatim), session-level SET statements (replayed when
// the old server cannot list its settings) and the names of custom parameters set (which
// pg_settings does not list, so the switch asks for them by name). Anything
// it cannot carry (temporary tables, session advisory locks, LISTEN, WITH HOLD cursors,
// SQL-level PREPARE, SET SESSION AUTHORIZATION, statements too large to inspect) makes the session
// "pinned"; the detection is a conservative keyword scan, so it may pin a session that could have
// moved, never the reverse for the listed features.
//
// Bounded: a session's carried state lives in the shared proxy's memory, so it has caps
// (CarriedStateLimits, documented in docs/proxy.md). A session over a cap is to be ended by
// its owner (limit_error() says which cap, for a 54000 program_limit_exceeded error). A Parse
// body is kept only once the backend accepted it (ParseComplete): a statement the server
// refused is never replayed, and costs nothing past its ReadyForQuery.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pgshift::proxy {

// Per-session caps. Statements being prepared (Parse sent, not yet answered) count too.
struct CarriedStateLimits {
  size_t max_prepared = 1000;                   // named prepared statements
  size_t max_prepared_bytes = 4 * 1024 * 1024;  // their Parse messages, in bytes
  size_t max_sets = 256;                        // parameters with a session-level SET/RESET
};

class CarriedState {
 public:
  explicit CarriedState(CarriedStateLimits limits = {}) : limits_(limits) {}

  // A whole Query message ('Q').
  void OnQuery(std::string_view msg);
  // A whole Parse message ('P'): remembered as pending until the backend answers.
  void OnParse(std::string_view msg);
  // A whole Close message ('C').
  void OnClose(std::string_view msg);
  // A message the backend answers with a ReadyForQuery (Query, Sync, FunctionCall): Parses
  // after it wait for the next ReadyForQuery.
  void OnSyncPoint() { ++sync_points_; }
  // From the backend: ParseComplete answers the oldest pending Parse (kept from now on);
  // ReadyForQuery forgets the Parses of the sync point it answers left unanswered (refused,
  // or skipped after an error), not those sent after it.
  void OnParseComplete();
  void OnReadyForQuery();

  // Non-empty once a cap was passed: which one, for the client (the session must end).
  const std::string& limit_error() const { return limit_error_; }
  bool over_limit() const { return !limit_error_.empty(); }
  // A Query or Parse too large to inspect.
  void OnUninspectable() { Pin("a statement too large to inspect"); }

  bool pinned() const { return !pin_reason_.empty(); }
  const std::string& pin_reason() const { return pin_reason_; }
  // What replaying needs, in order.
  std::vector<std::string> SetStatements() const;
  std::vector<std::string> ParseMessages() const;
  size_t prepared_count() const { return prepared_.size(); }
  size_t prepared_bytes() const { return prepared_bytes_; }
  // The session's SQL named a role somewhere (SET ROLE, set_config('role', ...), ...): if
  // its old backend cannot be asked at a switch, its role is unknown.
  bool role_mentioned() const { return role_mentioned_; }
  // Custom (dotted) parameters the session named in a SET or set_config('name', ...).
  const std::set<std::string>& CustomSettingNames() const { return custom_names_; }

 private:
  void Pin(const std::string& reason) {
    if (pin_reason_.empty()) pin_reason_ = reason;
  }
  void ScanSql(std::string_view sql);
  void NoteCustomName(std::string_view name);
  // Keeps `original` as the latest SET/RESET of `parameter` (an earlier one is superseded).
  void NoteSet(std::string_view parameter, std::string_view original);
  void ForgetPrepared(const std::string& name);
  void CheckPreparedLimits();
  struct PendingParse {
    std::string name;  // "" for the unnamed statement, or one closed before its answer
    std::string msg;
    uint64_t sync_point = 0;  // sync points sent before it
  };
  CarriedStateLimits limits_;
  std::string limit_error_;
  std::set<std::string> custom_names_;
  std::string pin_reason_;
  bool role_mentioned_ = false;
  // Session-level SET/RESET statements, the latest per parameter, in the order last sent.
  std::vector<std::pair<std::string, std::string>> sets_;  // parameter, statement
  std::unordered_map<std::string, std::string> prepared_;  // name -> raw Parse message
  std::vector<std::string> prepared_order_;
  size_t prepared_bytes_ = 0;
  std::deque<PendingParse> pending_parses_;  // sent to the backend, in order, not yet answered
  size_t pending_bytes_ = 0;
  size_t pending_named_ = 0;
  uint64_t sync_points_ = 0;      // sent by the client
  uint64_t ready_for_query_ = 0;  // answered by the backend
};

}  // namespace pgshift::proxy
