// Status codes and bodies of the API's errors.
#include "server/api_error.h"

namespace pgshift::server {

int HttpStatusOf(Code code) {
  switch (code) {
    case Code::kOk:
      return 200;
    case Code::kInvalidArgument:
      return 400;
    case Code::kUnauthenticated:
      return 401;
    case Code::kPermissionDenied:
      return 403;
    case Code::kNotFound:
      return 404;
    case Code::kAlreadyExists:
    case Code::kFailedPrecondition:
    case Code::kAborted:
      return 409;
    case Code::kUnavailable:
    case Code::kDeadlineExceeded:
      return 503;
    case Code::kInternal:
      return 500;
  }
  return 500;
}

std::string ErrorCodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid_argument";
    case Code::kUnauthenticated:
      return "unauthenticated";
    case Code::kPermissionDenied:
      return "permission_denied";
    case Code::kNotFound:
      return "not_found";
    case Code::kAlreadyExists:
      return "already_exists";
    case Code::kFailedPrecondition:
    case Code::kAborted:
      return "failed_precondition";
    case Code::kUnavailable:
    case Code::kDeadlineExceeded:
      return "unavailable";
    case Code::kInternal:
      return "internal";
  }
  return "internal";
}

HttpResponse ErrorResponse(const ApiError& e) {
  nlohmann::json err = {{"code", ErrorCodeName(e.status.code())}, {"message", e.status.message()}};
  if (!e.field.empty()) err["field"] = e.field;
  HttpResponse r = HttpResponse::Json(HttpStatusOf(e.status.code()), {{"error", err}});
  if (e.status.code() == Code::kUnauthenticated) r.headers["www-authenticate"] = "Bearer";
  return r;
}

HttpResponse HttpErrorBody(int http_status, const std::string& message) {
  Code code = Code::kInvalidArgument;
  if (http_status == 404) code = Code::kNotFound;
  if (http_status == 401) code = Code::kUnauthenticated;
  if (http_status == 403) code = Code::kPermissionDenied;
  if (http_status == 409) code = Code::kFailedPrecondition;
  if (http_status == 503) code = Code::kUnavailable;
  if (http_status >= 500 && http_status != 503) code = Code::kInternal;
  HttpResponse r = ErrorResponse(Status(code, message));
  r.status = http_status;
  return r;
}

}  // namespace pgshift::server
