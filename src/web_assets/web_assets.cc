// Placeholder until the web page is embedded (the web helper replaces this file with the
// generated table): a minimal index page, so that GET / answers.
#include "web_assets/web_assets.h"

namespace pgshift {
namespace {

constexpr WebAsset kIndex{"/index.html", "text/html; charset=utf-8",
                          "<!doctype html><html><head><meta charset=\"utf-8\"><title>pgshift"
                          "</title></head><body><h1>pgshift server</h1><p>The web page is not "
                          "built into this binary yet; the API is under /v1.</p></body></html>\n"};

}  // namespace

const WebAsset* FindWebAsset(std::string_view path) {
  if (path == kIndex.path) return &kIndex;
  return nullptr;
}

}  // namespace pgshift
