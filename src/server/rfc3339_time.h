// RFC 3339 timestamps: how the server's API reads and writes wall-clock instants
// ("2026-11-29T10:00:00Z", "2026-11-29T12:00:00.250+02:00"), as seconds since the epoch, the
// form the stores keep. Used by the arm request, the arm state and webhook bodies.
#pragma once

#include <string>

#include "common/status.h"

namespace pgshift::server {

// kInvalidArgument (naming what is wrong) unless `text` is "YYYY-MM-DDTHH:MM:SS[.frac]" followed
// by "Z" or "+HH:MM"/"-HH:MM" ('t', 'z' and a space for 'T' accepted, as RFC 3339 allows).
Result<double> ParseRfc3339(const std::string& text);
// UTC with milliseconds when there are any: "2026-11-29T10:00:00Z", "...T10:00:00.250Z".
std::string FormatRfc3339(double epoch_seconds);

}  // namespace pgshift::server
