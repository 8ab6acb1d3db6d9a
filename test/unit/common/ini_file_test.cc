#include "common/ini_file.h"

#include <gtest/gtest.h>

#include <vector>

namespace pgshift {
namespace {

// Every entry of `text` as "[kind|name]" or "line:key=value", or the first error.
std::vector<std::string> Entries(const std::string& text) {
  std::vector<std::string> out;
  IniReader reader(text, "f.ini");
  while (true) {
    auto entry = reader.Next();
    if (!entry.ok()) {
      out.push_back("error: " + entry.status().message());
      return out;
    }
    if (!*entry) return out;
    const IniEntry& e = **entry;
    if (e.is_section) {
      out.push_back("[" + e.section_kind + "|" + e.section_name + "]");
    } else {
      out.push_back(std::to_string(reader.where().line) + ":" + reader.where().key + "=" + e.value);
    }
  }
}

TEST(IniReader, SectionsKeysAndCommentsByTheOneRule) {
  EXPECT_EQ(Entries("# comment\n; also\n\n[server]\n  listen = 127.0.0.1:1  # trailing\n"
                    "[team  payments ]\nwebhook = https://h/x#frag\nname=a#b\r\n"),
            (std::vector<std::string>{"[server|]", "5:listen=127.0.0.1:1", "[team|payments]",
                                      "7:webhook=https://h/x#frag", "8:name=a#b"}));
}

TEST(IniReader, MalformedLinesNameTheirPlace) {
  EXPECT_EQ(Entries("[server\n").back(), "error: f.ini:1: section header '[server' lacks ']'");
  EXPECT_EQ(Entries("[s]\nlisten\n").back(),
            "error: f.ini:2: expected 'key = value', got 'listen'");
  EXPECT_EQ(Entries("[s]\n\nstore =   # nothing\n").back(), "error: f.ini:3: store: empty value");
}

TEST(IniReader, BooleansAreOnOrOff) {
  IniLocation at{"f.ini", 4, "tls"};
  EXPECT_TRUE(*ParseIniBool(at, "yes"));
  EXPECT_FALSE(*ParseIniBool(at, "off"));
  auto bad = ParseIniBool(at, "maybe");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "f.ini:4: tls: 'maybe' is not on or off");
}

}  // namespace
}  // namespace pgshift
