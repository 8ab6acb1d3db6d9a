// The table of embedded files, defined in the source CMake generates from web/ at build time
// (cmake/embed_web_assets.cmake); only web_assets.cc reads it.
#pragma once

#include <span>

#include "web_assets/web_assets.h"

namespace pgshift {

// Every file of web/, sorted by path.
std::span<const WebAsset> EmbeddedWebAssets();

}  // namespace pgshift
