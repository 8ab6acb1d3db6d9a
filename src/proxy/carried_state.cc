// Conservative statement scanning for session state a switch must carry or cannot carry.
#include "proxy/carried_state.h"

#include <algorithm>
#include <cctype>

namespace pgshift::proxy {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Collapses whitespace runs so that "create   temp\ntable" matches "create temp table".
std::string Normalize(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : Lower(s)) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// ASCII lower-casing, as std::tolower in the C locale, but inlined: MayMatter runs on every
// Query and Parse, and calling tolower per byte showed in profiles (~2 % of the proxy's CPU).
inline char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

// Whether `sql` could touch carried state at all; most statements cannot and skip the rest.
// One pass over the text: a candidate word is compared only where its first letter appears.
bool MayMatter(std::string_view sql) {
  static constexpr std::string_view kWords[] = {
      "set", "temp", "advisory", "listen", "hold", "prepare", "discard", "role", "deallocate"};
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = AsciiLower(sql[i]);
    for (std::string_view w : kWords) {
      if (w[0] != c || w.size() > sql.size() - i) continue;
      size_t k = 1;
      while (k < w.size() && AsciiLower(sql[i + k]) == w[k]) ++k;
      if (k == w.size()) return true;
    }
  }
  return false;
}

std::string_view TrimView(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// A NUL-terminated string at `pos` of a message body.
std::string_view CString(std::string_view body, size_t pos) {
  if (pos >= body.size()) return {};
  size_t end = body.find('\0', pos);
  return body.substr(pos, end == std::string_view::npos ? body.size() - pos : end - pos);
}

// What follows "set " or "set session " (the same thing), "" if `stmt` is no SET.
std::string_view AfterSet(std::string_view stmt) {
  if (!StartsWith(stmt, "set ")) return {};
  std::string_view rest = stmt.substr(4);
  if (StartsWith(rest, "session ") && !StartsWith(rest, "session characteristics")) {
    rest = rest.substr(8);
  }
  return rest;
}

// A SET whose effect outlives the current transaction. The transaction_* parameters end with
// their transaction (a session is moved between transactions) and, replayed on a target still
// in recovery, `transaction_read_only = off` or serializable isolation would fail the move.
bool IsSessionSet(std::string_view stmt) {
  std::string_view rest = AfterSet(stmt);
  return !rest.empty() && !StartsWith(rest, "local ") && !StartsWith(rest, "transaction") &&
         !StartsWith(rest, "constraints");
}

// The parameter a session-level SET names, lower-cased.
std::string_view SetParameter(std::string_view stmt) {
  std::string_view rest = AfterSet(stmt);
  return rest.substr(0, std::min(rest.size(), rest.find_first_of(" =\t\r\n")));
}

}  // namespace

void CarriedState::NoteCustomName(std::string_view name) {
  // Bounded, like everything a session keeps: names past the cap are not carried.
  constexpr size_t kMaxCustomNames = 64;
  if (custom_names_.size() < kMaxCustomNames && !name.empty() && name.size() <= 128 &&
      name.find('.') != std::string_view::npos && name.find('\'') == std::string_view::npos) {
    custom_names_.emplace(name);
  }
}

void CarriedState::ScanSql(std::string_view sql) {
  std::string n = Normalize(sql);
  static const std::pair<const char*, const char*> kPinning[] = {
      {"temp table", "a temporary table"},
      {"temporary table", "a temporary table"},
      {"temp sequence", "a temporary object"},
      {"temporary view", "a temporary object"},
      {"temp view", "a temporary object"},
      {"pg_advisory_lock", "a session advisory lock"},
      {"pg_try_advisory_lock", "a session advisory lock"},
      {"listen ", "LISTEN"},
      {"with hold", "a WITH HOLD cursor"},
      {"prepare ", "an SQL-level PREPARE"},
      {"set session authorization", "SET SESSION AUTHORIZATION"},
  };
  for (const auto& [needle, reason] : kPinning) {
    if (n.find(needle) != std::string::npos) Pin(reason);
  }
  // The role itself is read from the old backend at a switch (backend_move.h); this only
  // says whether the session may have changed it when that backend is gone.
  if (n.find("role") != std::string::npos) role_mentioned_ = true;
  // Custom parameters ("app.tenant") are not in pg_settings: a switch asks for them by name.
  for (size_t at = n.find("set_config("); at != std::string::npos;
       at = n.find("set_config(", at + 1)) {
    size_t open = n.find_first_not_of(" ", at + 11);
    if (open == std::string::npos || n[open] != '\'') continue;
    size_t close = n.find('\'', open + 1);
    if (close != std::string::npos)
      NoteCustomName(std::string_view(n).substr(open + 1, close - open - 1));
  }
}

void CarriedState::NoteSet(std::string_view parameter, std::string_view original) {
  // Only the latest statement per parameter matters for the final value, so a session that
  // sets search_path in every transaction keeps one entry, not one per transaction.
  std::string param(parameter);
  sets_.erase(std::remove_if(sets_.begin(), sets_.end(),
                             [&](const auto& set) { return set.first == param; }),
              sets_.end());
  sets_.emplace_back(std::move(param), std::string(original));
  if (sets_.size() > limits_.max_sets && limit_error_.empty()) {
    limit_error_ = "this session set more than " + std::to_string(limits_.max_sets) +
                   " parameters (SET/RESET), the proxy's limit per session";
  }
}

void CarriedState::OnQuery(std::string_view msg) {
  std::string_view sql = CString(msg, 5);
  if (!MayMatter(sql)) return;
  ScanSql(sql);
  // Split on ';' naively: a quoted ';' yields a statement that fails on replay, which ends
  // the session at switch time (safe), rather than silently losing a setting.
  size_t start = 0;
  while (start <= sql.size()) {
    size_t end = sql.find(';', start);
    if (end == std::string_view::npos) end = sql.size();
    std::string_view original = TrimView(sql.substr(start, end - start));
    std::string stmt = Normalize(original);
    start = end + 1;
    if (stmt == "reset all" || stmt == "discard all") {
      sets_.clear();
      if (stmt == "discard all") {
        prepared_.clear(), prepared_order_.clear();
        prepared_bytes_ = 0;
      }
    } else if (StartsWith(stmt, "deallocate ")) {
      // Drivers evict their statements with SQL (psycopg 3 sends DEALLOCATE name): forgotten
      // like a Close, or the session would reach the cap by reusing its statement cache.
      std::string_view rest = std::string_view(stmt).substr(11);
      if (StartsWith(rest, "prepare ")) rest.remove_prefix(8);
      if (rest == "all") {
        prepared_.clear(), prepared_order_.clear();
        prepared_bytes_ = 0;
      } else if (!rest.empty() && rest.front() == '"') {
        // A quoted name keeps its case: take it from the text as sent, "" unescaped.
        size_t open = original.find('"');
        std::string name;
        for (size_t i = open + 1; i < original.size(); ++i) {
          if (original[i] != '"') {
            name.push_back(original[i]);
          } else if (i + 1 < original.size() && original[i + 1] == '"') {
            name.push_back('"');
            ++i;
          } else {
            break;
          }
        }
        ForgetPrepared(name);
      } else {
        ForgetPrepared(std::string(rest));  // unquoted: folded to lower case, as the server does
      }
    } else if (IsSessionSet(stmt)) {
      std::string_view parameter = SetParameter(stmt);
      NoteSet(parameter, original);
      NoteCustomName(parameter);
    } else if (StartsWith(stmt, "reset ")) {
      // Replaying in order keeps the final value right; it supersedes the parameter's SET.
      std::string_view rest = std::string_view(stmt).substr(6);
      NoteSet(rest.substr(0, std::min(rest.size(), rest.find_first_of(" \t\r\n"))), original);
    }
  }
}

void CarriedState::OnParse(std::string_view msg) {
  std::string_view name = CString(msg, 5);
  std::string_view sql = CString(msg, 5 + name.size() + 1);
  if (MayMatter(sql)) ScanSql(sql);
  // Every Parse is answered by one ParseComplete (or skipped after an error), so the unnamed
  // statement holds its place in the queue, without its body.
  if (name.empty()) {
    pending_parses_.push_back({.sync_point = sync_points_});
    return;
  }
  pending_parses_.push_back({std::string(name), std::string(msg), sync_points_});
  pending_bytes_ += msg.size();
  ++pending_named_;
  CheckPreparedLimits();
}

void CarriedState::OnParseComplete() {
  if (pending_parses_.empty()) return;  // not one of the client's (never expected)
  PendingParse parse = std::move(pending_parses_.front());
  pending_parses_.pop_front();
  if (!parse.msg.empty()) {
    pending_bytes_ -= parse.msg.size();
    --pending_named_;
  }
  if (parse.name.empty()) return;  // unnamed, or closed before it was answered
  ForgetPrepared(parse.name);      // PostgreSQL refuses a duplicate name; kept right anyway
  prepared_bytes_ += parse.msg.size();
  prepared_order_.push_back(parse.name);
  prepared_.emplace(parse.name, std::move(parse.msg));
}

void CarriedState::OnReadyForQuery() {
  ++ready_for_query_;
  while (!pending_parses_.empty() && pending_parses_.front().sync_point < ready_for_query_) {
    if (!pending_parses_.front().msg.empty()) {
      pending_bytes_ -= pending_parses_.front().msg.size();
      --pending_named_;
    }
    pending_parses_.pop_front();
  }
}

void CarriedState::CheckPreparedLimits() {
  if (!limit_error_.empty()) return;
  if (prepared_.size() + pending_named_ > limits_.max_prepared) {
    limit_error_ = "this session prepared more than " + std::to_string(limits_.max_prepared) +
                   " named statements, the proxy's limit per session; close (Close or "
                   "DEALLOCATE) statements no longer used";
  } else if (prepared_bytes_ + pending_bytes_ > limits_.max_prepared_bytes) {
    limit_error_ = "this session's named prepared statements exceed " +
                   std::to_string(limits_.max_prepared_bytes / 1024) +
                   " KiB of statement text, the proxy's limit per session; close (Close or "
                   "DEALLOCATE) statements no longer used";
  }
}

void CarriedState::ForgetPrepared(const std::string& name) {
  auto it = prepared_.find(name);
  if (it == prepared_.end()) return;
  prepared_bytes_ -= it->second.size();
  prepared_.erase(it);
  prepared_order_.erase(std::remove(prepared_order_.begin(), prepared_order_.end(), name),
                        prepared_order_.end());
}

void CarriedState::OnClose(std::string_view msg) {
  if (msg.size() < 6 || msg[5] != 'S') return;  // portals need no carrying
  std::string name(CString(msg, 6));
  ForgetPrepared(name);
  // A Parse of that name not answered yet is closed too once it is: not to be kept.
  for (PendingParse& parse : pending_parses_) {
    if (parse.name == name) parse.name.clear();
  }
}

std::vector<std::string> CarriedState::SetStatements() const {
  std::vector<std::string> out;
  out.reserve(sets_.size());
  for (const auto& set : sets_) out.push_back(set.second);
  return out;
}

std::vector<std::string> CarriedState::ParseMessages() const {
  std::vector<std::string> out;
  for (const auto& name : prepared_order_) {
    auto it = prepared_.find(name);
    if (it != prepared_.end()) out.push_back(it->second);
  }
  return out;
}

}  // namespace pgshift::proxy
