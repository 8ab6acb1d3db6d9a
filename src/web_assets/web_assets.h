// FindWebAsset: the web page's static files (web/), embedded in the binary so that the server
// needs nothing installed beside it. The server serves GET / (index.html) and GET /ui/{file}.
#pragma once

#include <string_view>

namespace pgshift {

struct WebAsset {
  std::string_view path;  // "/index.html", "/app.js"
  std::string_view content_type;
  std::string_view body;
};

// path like "/index.html", "/app.js"; nullptr when unknown.
const WebAsset* FindWebAsset(std::string_view path);

}  // namespace pgshift
