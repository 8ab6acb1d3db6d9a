// The embedded page: every file of web/ is found by its path with the content type a browser
// needs (a module script served as anything but JavaScript is refused), byte for byte.
#include "web_assets/web_assets.h"

#include <gtest/gtest.h>

#include <string>

namespace pgshift {
namespace {

TEST(WebAssets, ThePageItsScriptAndItsStyleAreEmbedded) {
  const WebAsset* index = FindWebAsset("/index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->path, "/index.html");
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_TRUE(index->body.starts_with("<!doctype html>")) << index->body.substr(0, 40);
  EXPECT_NE(index->body.find("app.js"), std::string_view::npos);

  const WebAsset* script = FindWebAsset("/app.js");
  ASSERT_NE(script, nullptr);
  EXPECT_EQ(script->content_type, "text/javascript; charset=utf-8");
  EXPECT_FALSE(script->body.empty());

  const WebAsset* style = FindWebAsset("/style.css");
  ASSERT_NE(style, nullptr);
  EXPECT_EQ(style->content_type, "text/css; charset=utf-8");

  const WebAsset* icon = FindWebAsset("/favicon.svg");
  ASSERT_NE(icon, nullptr);
  EXPECT_EQ(icon->content_type, "image/svg+xml");
  EXPECT_TRUE(icon->body.starts_with("<svg")) << icon->body.substr(0, 20);
}

TEST(WebAssets, BodiesAreTheFilesBytesWithoutATerminatingNul) {
  const WebAsset* index = FindWebAsset("/index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->body.find('\0'), std::string_view::npos);
  EXPECT_TRUE(index->body.ends_with("</html>\n")) << index->body.substr(index->body.size() - 20);
}

TEST(WebAssets, UnknownPathsAreNotFound) {
  EXPECT_EQ(FindWebAsset("/"), nullptr);
  EXPECT_EQ(FindWebAsset(""), nullptr);
  EXPECT_EQ(FindWebAsset("index.html"), nullptr);  // paths start with '/'
  EXPECT_EQ(FindWebAsset("/index.htm"), nullptr);
  EXPECT_EQ(FindWebAsset("/index.html/"), nullptr);
  EXPECT_EQ(FindWebAsset("/../CMakeLists.txt"), nullptr);
  EXPECT_EQ(FindWebAsset("/web/index.html"), nullptr);
}

}  // namespace
}  // namespace pgshift
