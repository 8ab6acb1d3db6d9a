// Lsn: a WAL position, parsed from and printed as PostgreSQL's "X/Y" form.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace pgshift {

struct Lsn {
  uint64_t value = 0;

  static Result<Lsn> Parse(std::string_view text);
  std::string ToString() const;
  bool valid() const { return value != 0; }
  auto operator<=>(const Lsn&) const = default;
};

// Bytes from a to b (0 if b is behind a).
inline uint64_t BytesBetween(Lsn a, Lsn b) { return b.value > a.value ? b.value - a.value : 0; }

}  // namespace pgshift
