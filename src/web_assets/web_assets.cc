// FindWebAsset over the generated table of web/'s files.
#include "web_assets/web_assets.h"

#include <algorithm>

#include "web_assets/embedded_web_assets.h"

namespace pgshift {

const WebAsset* FindWebAsset(std::string_view path) {
  std::span<const WebAsset> assets = EmbeddedWebAssets();
  auto it = std::lower_bound(assets.begin(), assets.end(), path,
                             [](const WebAsset& a, std::string_view p) { return a.path < p; });
  if (it == assets.end() || it->path != path) return nullptr;
  return &*it;
}

}  // namespace pgshift
