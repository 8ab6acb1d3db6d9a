// WebAsset: the web page's static files (web/), compiled into the binary so that the server
// serves its page with nothing installed beside it. CMake turns every file in web/ into
// generated source (cmake/embed_web_assets.cmake); this is the lookup the server uses.
#pragma once

#include <string_view>

namespace pgshift {

struct WebAsset {
  std::string_view path;
  std::string_view content_type;
  std::string_view body;
};

// path like "/index.html", "/app.js"; nullptr when unknown.
const WebAsset* FindWebAsset(std::string_view path);

}  // namespace pgshift
