// The one error body: each status code's HTTP status and code name, the field when given,
// and the HTTP layer's own refusals in the same form.
#include "server/api_error.h"

#include <gtest/gtest.h>

namespace pgshift::server {
namespace {

TEST(ApiError, EachCodeHasItsStatusAndName) {
  struct Case {
    Status st;
    int http;
    const char* code;
  };
  const Case cases[] = {
      {InvalidArgument("a"), 400, "invalid_argument"},
      {Unauthenticated("a"), 401, "unauthenticated"},
      {PermissionDenied("a"), 403, "permission_denied"},
      {NotFound("a"), 404, "not_found"},
      {AlreadyExists("a"), 409, "already_exists"},
      {FailedPrecondition("a"), 409, "failed_precondition"},
      {Aborted("a"), 409, "failed_precondition"},
      {Unavailable("a"), 503, "unavailable"},
      {DeadlineExceeded("a"), 503, "unavailable"},
      {Internal("a"), 500, "internal"},
  };
  for (const Case& c : cases) {
    HttpResponse r = ErrorResponse(c.st);
    EXPECT_EQ(r.status, c.http) << c.code;
    auto j = nlohmann::json::parse(r.body);
    EXPECT_EQ(j["error"]["code"], c.code);
    EXPECT_EQ(j["error"]["message"], "a");
    EXPECT_FALSE(j["error"].contains("field"));
  }
}

TEST(ApiError, NamesTheFieldAtFault) {
  HttpResponse r =
      ErrorResponse(InvalidArgument("source.conninfo: holds a password"), "source.conninfo");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["field"], "source.conninfo");
  EXPECT_EQ(r.content_type, "application/json");
}

TEST(ApiError, UnauthenticatedAsksForABearerToken) {
  EXPECT_EQ(ErrorResponse(Unauthenticated("no")).headers.at("www-authenticate"), "Bearer");
}

TEST(ApiError, TheHttpLayersRefusalsKeepTheirStatusInTheSameBody) {
  for (auto [status, code] : std::vector<std::pair<int, std::string>>{{404, "not_found"},
                                                                      {405, "invalid_argument"},
                                                                      {413, "invalid_argument"},
                                                                      {503, "unavailable"},
                                                                      {500, "internal"}}) {
    HttpResponse r = HttpErrorBody(status, "why");
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], code) << status;
  }
}

}  // namespace
}  // namespace pgshift::server
