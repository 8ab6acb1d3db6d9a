// The INI dialect of pgshift's configuration files (the proxy's and the server's), read one
// entry at a time so that each file keeps its own sections and keys while the lexical rules,
// and the form of every error (`file:line: key: problem`), are the same everywhere:
//
//   # a comment line (also ';')
//   [kind]            or   [kind NAME]
//   key = value       # a trailing comment starts at a '#' after a space or tab; a '#' elsewhere
//                     # (a#b, a URI fragment) belongs to the value
#pragma once

#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "common/status.h"

namespace pgshift {

// Where in a configuration file a value came from; its errors name the place.
struct IniLocation {
  std::string origin;  // the file's path (or another name for the text)
  int line = 0;
  std::string key;  // empty outside key lines
  // InvalidArgument "origin:line: key: problem".
  Status Error(const std::string& problem) const;
};

struct IniEntry {
  bool is_section = false;
  std::string section_kind;  // `[team payments]`: "team"
  std::string section_name;  // `[team payments]`: "payments"; empty for `[server]`
  std::string section_text;  // what stood between the brackets, for messages
  std::string value;         // a key line's value (its key is in IniReader::where().key)
};

class IniReader {
 public:
  IniReader(const std::string& text, std::string origin);

  // The next section header or key line; nullopt at the end of the text. A header without
  // ']', a line without '=' and an empty value are errors at their line.
  Result<std::optional<IniEntry>> Next();
  // The line of the entry Next() returned last (its key for a key line).
  const IniLocation& where() const { return where_; }

 private:
  std::istringstream in_;
  IniLocation where_;
};

// Without blanks (spaces, tabs, a CR) at either end.
std::string TrimIni(std::string_view s);
// on/true/yes or off/false/no; anything else is an error at `w`.
Result<bool> ParseIniBool(const IniLocation& w, const std::string& value);

}  // namespace pgshift
