// The configuration files' INI reader (see ini_file.h for the dialect).
#include "common/ini_file.h"

namespace pgshift {
namespace {

std::string WithoutInlineComment(const std::string& line) {
  for (size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '#' && (line[i - 1] == ' ' || line[i - 1] == '\t')) {
      return TrimIni(std::string_view(line).substr(0, i));
    }
  }
  return line;
}

}  // namespace

Status IniLocation::Error(const std::string& problem) const {
  std::string at = origin + ":" + std::to_string(line) + ": ";
  if (!key.empty()) at += key + ": ";
  return InvalidArgument(at + problem);
}

std::string TrimIni(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

Result<bool> ParseIniBool(const IniLocation& w, const std::string& value) {
  if (value == "on" || value == "true" || value == "yes") return true;
  if (value == "off" || value == "false" || value == "no") return false;
  return w.Error("'" + value + "' is not on or off");
}

IniReader::IniReader(const std::string& text, std::string origin) : in_(text) {
  where_.origin = std::move(origin);
}

Result<std::optional<IniEntry>> IniReader::Next() {
  std::string raw;
  while (std::getline(in_, raw)) {
    ++where_.line;
    where_.key.clear();
    std::string line = TrimIni(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    line = WithoutInlineComment(line);
    IniEntry entry;
    if (line[0] == '[') {
      if (line.back() != ']') return where_.Error("section header '" + line + "' lacks ']'");
      entry.is_section = true;
      entry.section_text = TrimIni(std::string_view(line).substr(1, line.size() - 2));
      size_t space = entry.section_text.find(' ');
      entry.section_kind = entry.section_text.substr(0, space);
      if (space != std::string::npos) {
        entry.section_name = TrimIni(std::string_view(entry.section_text).substr(space + 1));
      }
      return std::optional<IniEntry>(std::move(entry));
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      return where_.Error("expected 'key = value', got '" + line + "'");
    }
    where_.key = TrimIni(std::string_view(line).substr(0, eq));
    entry.value = TrimIni(std::string_view(line).substr(eq + 1));
    if (entry.value.empty()) return where_.Error("empty value");
    return std::optional<IniEntry>(std::move(entry));
  }
  return std::optional<IniEntry>();
}

}  // namespace pgshift
