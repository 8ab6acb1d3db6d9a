// Status rendering.
#include "common/status.h"

namespace pgshift {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid_argument";
    case Code::kNotFound:
      return "not_found";
    case Code::kAlreadyExists:
      return "already_exists";
    case Code::kUnavailable:
      return "unavailable";
    case Code::kAborted:
      return "aborted";
    case Code::kFailedPrecondition:
      return "failed_precondition";
    case Code::kDeadlineExceeded:
      return "deadline_exceeded";
    case Code::kPermissionDenied:
      return "permission_denied";
    case Code::kUnauthenticated:
      return "unauthenticated";
    case Code::kInternal:
      return "internal";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message_;
}

Status Status::Context(std::string_view where) const {
  if (ok()) return *this;
  return Status(code_, std::string(where) + ": " + message_);
}

}  // namespace pgshift
