// ApiError: the one error body every 4xx/5xx of the server's API carries,
//   {"error":{"code":"invalid_argument","message":"...","field":"source.conninfo"}}
// built from a Status (code -> HTTP status and error code) and, when one field of the request
// is at fault, its dotted name. Messages are shown to the caller: they never carry a secret.
#pragma once

#include <string>

#include "common/status.h"
#include "http/http_message.h"

namespace pgshift::server {

struct ApiError {
  Status status;
  std::string field;  // "" when no single field is at fault
};

// 400 invalid_argument, 401 unauthenticated, 403 permission_denied, 404 not_found,
// 409 already_exists / failed_precondition (also a lost race, kAborted), 503 unavailable
// (also a deadline), 500 internal.
int HttpStatusOf(Code code);
std::string ErrorCodeName(Code code);
HttpResponse ErrorResponse(const ApiError& error);
inline HttpResponse ErrorResponse(const Status& status, const std::string& field = "") {
  return ErrorResponse(ApiError{status, field});
}

// For the HTTP layer's own refusals (HttpErrorResponder): 404 not_found, 401
// unauthenticated, 403 permission_denied, 409 failed_precondition, 503 unavailable, 5xx
// internal, any other 4xx (405, 413, 431, ...) invalid_argument. The HTTP status is kept.
HttpResponse HttpErrorBody(int http_status, const std::string& message);

}  // namespace pgshift::server

// In a handler: answers the error body when `expr` (a Status) is not ok.
#define RETURN_ERROR_RESPONSE(expr)                                      \
  do {                                                                   \
    ::pgshift::Status _api_st = (expr);                                  \
    if (!_api_st.ok()) return ::pgshift::server::ErrorResponse(_api_st); \
  } while (0)
