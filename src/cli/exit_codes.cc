// The command's exit code for a failed Status, shared by the local and the remote commands so
// that a script sees the same codes either way.
#include "cli/command.h"

namespace pgshift::cli {

int ExitCodeFor(const Status& st) {
  switch (st.code()) {
    case Code::kInvalidArgument:
    case Code::kNotFound:
    case Code::kAlreadyExists:
    case Code::kUnauthenticated:
    case Code::kPermissionDenied:
      return kBadInput;
    default:
      return 1;
  }
}

}  // namespace pgshift::cli
