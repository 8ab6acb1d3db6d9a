// LogicalSlot's JSON form (what the workflow records for the hand-over) and slot names.
#include "cdc/logical_slot.h"

#include <gtest/gtest.h>

namespace pgshift {
namespace {

LogicalSlot Sample() {
  LogicalSlot s;
  s.name = "orders_cdc";
  s.plugin = "pgoutput";
  s.database = "shop";
  s.two_phase = true;
  s.active = true;
  s.active_pid = 4242;
  s.confirmed_flush_lsn = Lsn::Parse("1/A0000028").value();
  s.restart_lsn = Lsn::Parse("1/9FFFFF00").value();
  return s;
}

TEST(LogicalSlotJson, RoundTripsEveryField) {
  LogicalSlot s = Sample();
  auto j = s.ToJson();
  EXPECT_EQ(j["confirmed_flush_lsn"], "1/A0000028");
  auto back = LogicalSlot::FromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->name, s.name);
  EXPECT_EQ(back->plugin, s.plugin);
  EXPECT_EQ(back->database, s.database);
  EXPECT_EQ(back->two_phase, true);
  EXPECT_EQ(back->active_pid, 4242);
  EXPECT_EQ(back->confirmed_flush_lsn, s.confirmed_flush_lsn);
  EXPECT_EQ(back->restart_lsn, s.restart_lsn);
}

TEST(LogicalSlotJson, NoConsumerIsNullPid) {
  LogicalSlot s = Sample();
  s.active = false;
  s.active_pid.reset();
  auto j = s.ToJson();
  EXPECT_TRUE(j["active_pid"].is_null());
  EXPECT_FALSE(LogicalSlot::FromJson(j)->active_pid.has_value());
}

TEST(LogicalSlotJson, BadInputNamesTheField) {
  auto j = Sample().ToJson();
  j.erase("plugin");
  auto r = LogicalSlot::FromJson(j);
  ASSERT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("'plugin'"), std::string::npos);

  j = Sample().ToJson();
  j["confirmed_flush_lsn"] = "not-an-lsn";
  r = LogicalSlot::FromJson(j);
  ASSERT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("confirmed_flush_lsn"), std::string::npos);

  j = Sample().ToJson();
  j["two_phase"] = "yes";
  EXPECT_EQ(LogicalSlot::FromJson(j).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(LogicalSlot::FromJson(nlohmann::json::array()).status().code(), Code::kInvalidArgument);
}

TEST(SlotName, AcceptsWhatPostgresAcceptsOnly) {
  EXPECT_TRUE(ValidateSlotName("a_1").ok());
  EXPECT_TRUE(ValidateSlotName(std::string(63, 'x')).ok());
  EXPECT_FALSE(ValidateSlotName("").ok());
  EXPECT_FALSE(ValidateSlotName(std::string(64, 'x')).ok());
  EXPECT_FALSE(ValidateSlotName("Upper").ok());
  EXPECT_FALSE(ValidateSlotName("a;drop").ok());
  EXPECT_EQ(ValidateSlotName("a-b").code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace pgshift
