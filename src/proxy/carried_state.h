// CarriedState: what a session has set up on its backend that a switch must recreate on
// the new one, learned by watching the client's messages: named prepared statements (the
// Parse messages themselves, replayed verbatim), session-level SET statements (replayed when
// the old server cannot list its settings) and the names of custom parameters set (which
// pg_settings does not list, so the switch asks for them by name). Anything
// it cannot carry (temporary tables, session advisory locks, LISTEN, WITH HOLD cursors,
// SQL-level PREPARE, statements too large to inspect) makes the session "pinned"; the
// detection is a conservative keyword scan, so it may pin a session that could have moved,
// never the reverse for the listed features.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pgshift::proxy {

class CarriedState {
 public:
  // A whole Query message ('Q').
  void OnQuery(std::string_view msg);
  // A whole Parse message ('P').
  void OnParse(std::string_view msg);
  // A whole Close message ('C').
  void OnClose(std::string_view msg);
  // A Query or Parse too large to inspect.
  void OnUninspectable() { Pin("a statement too large to inspect"); }

  bool pinned() const { return !pin_reason_.empty(); }
  const std::string& pin_reason() const { return pin_reason_; }
  // What replaying needs, in order.
  std::vector<std::string> SetStatements() const { return sets_; }
  std::vector<std::string> ParseMessages() const;
  size_t prepared_count() const { return prepared_.size(); }
  // Custom (dotted) parameters the session named in a SET or set_config('name', ...).
  const std::set<std::string>& CustomSettingNames() const { return custom_names_; }

 private:
  void Pin(const std::string& reason) {
    if (pin_reason_.empty()) pin_reason_ = reason;
  }
  void ScanSql(std::string_view sql);
  void NoteCustomName(std::string_view name);
  std::set<std::string> custom_names_;
  std::string pin_reason_;
  std::vector<std::string> sets_;
  std::unordered_map<std::string, std::string> prepared_;  // name -> raw Parse message
  std::vector<std::string> prepared_order_;
};

}  // namespace pgshift::proxy
