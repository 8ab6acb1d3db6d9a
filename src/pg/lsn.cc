// LSN text form: two hexadecimal halves separated by a slash.
#include "pg/lsn.h"

#include <charconv>
#include <cstdio>

namespace pgshift {

Result<Lsn> Lsn::Parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= text.size()) {
    return InvalidArgument("'" + std::string(text) + "' is not an LSN (expected X/Y in hex)");
  }
  uint32_t hi = 0, lo = 0;
  auto a = std::from_chars(text.data(), text.data() + slash, hi, 16);
  auto b = std::from_chars(text.data() + slash + 1, text.data() + text.size(), lo, 16);
  if (a.ec != std::errc() || a.ptr != text.data() + slash || b.ec != std::errc() ||
      b.ptr != text.data() + text.size()) {
    return InvalidArgument("'" + std::string(text) + "' is not an LSN (expected X/Y in hex)");
  }
  return Lsn{(static_cast<uint64_t>(hi) << 32) | lo};
}

std::string Lsn::ToString() const {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(value >> 32),
                static_cast<unsigned>(value & 0xffffffffu));
  return buf;
}

}  // namespace pgshift
