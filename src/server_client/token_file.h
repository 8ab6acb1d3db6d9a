// The API token a command line client sends, read from a file (`--token-file`, or the file
// PGSHIFT_TOKEN_FILE names). Never from an argument: the command line is visible to every
// local user in `ps` and lands in shell history. The token's text is returned to the caller
// and never put into a message.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace pgshift {

struct TokenFile {
  std::string token;
  // Things the operator should know (the file is readable by others), without the token.
  std::vector<std::string> warnings;
};

// The first line of `path`, surrounding whitespace removed. kInvalidArgument when the file
// cannot be read, is empty, or holds more than one non-empty line or inner whitespace (not a
// token file).
Result<TokenFile> ReadTokenFile(const std::string& path);

}  // namespace pgshift
