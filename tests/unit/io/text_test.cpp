#include "reckon/io/text.hpp"

#include <gtest/gtest.h>

namespace reckon {
namespace {

TEST(Text, ParsesNumbersStrictly) {
  EXPECT_EQ(parse_int(" 42 "), 42);
  EXPECT_EQ(parse_int("-3"), -3);
  EXPECT_FALSE(parse_int("4x").has_value());
  EXPECT_FALSE(parse_int("").has_value());
  EXPECT_DOUBLE_EQ(*parse_double("3.5"), 3.5);
  EXPECT_DOUBLE_EQ(*parse_double("1e2"), 100.0);
  EXPECT_FALSE(parse_double("five").has_value());
  EXPECT_FALSE(parse_double("nan").has_value());
}

TEST(Text, ParsesTimestamps) {
  EXPECT_EQ(parse_timestamp("881250949"), 881250949);
  EXPECT_EQ(parse_timestamp("1396321200.75"), 1396321200);
  EXPECT_EQ(parse_timestamp("1970-01-02"), 86400);
  EXPECT_EQ(parse_timestamp("2016-05-09"), 1462752000);
  EXPECT_EQ(parse_timestamp("2014-04-01T03:00:00Z"), 1396321200);
  EXPECT_EQ(parse_timestamp("2014-04-01 03:00:00.123Z"), 1396321200);
  EXPECT_EQ(parse_timestamp("2014-04-01T05:00:00+02:00"), 1396321200);
  EXPECT_EQ(parse_timestamp("2014-04-01T03:00Z"), 1396321200);
  EXPECT_FALSE(parse_timestamp("2014-13-01").has_value());
  EXPECT_FALSE(parse_timestamp("yesterday").has_value());
  EXPECT_EQ(format_timestamp(1396321200), "2014-04-01T03:00:00Z");
  EXPECT_EQ(format_timestamp(0), "1970-01-01T00:00:00Z");
}

TEST(Text, ValidatesUtf8) {
  EXPECT_EQ(find_invalid_utf8("plain"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("caf\xc3\xa9"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("caf\xe9!"), 3u);        // Latin-1 byte
  EXPECT_EQ(find_invalid_utf8("\xc0\xaf"), 0u);        // overlong
  EXPECT_EQ(find_invalid_utf8("ok\xed\xa0\x80"), 2u);  // surrogate
  EXPECT_EQ(latin1_to_utf8("caf\xe9"), "caf\xc3\xa9");
}

TEST(Text, SplitsCsvWithQuotes) {
  std::vector<std::string_view> f;
  std::string scratch;
  ASSERT_TRUE(split_csv(R"(1,"Toy Story, The",x)", ',', f, scratch));
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[1], "Toy Story, The");
  ASSERT_TRUE(split_csv(R"("say ""hi""",,)", ',', f, scratch));
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0], "say \"hi\"");
  EXPECT_EQ(f[1], "");
  EXPECT_EQ(f[2], "");
  EXPECT_FALSE(split_csv(R"(1,"open)", ',', f, scratch));
  split_plain("1::2::5", "::", f);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[2], "5");
}

}  // namespace
}  // namespace reckon

namespace reckon {
namespace {

TEST(Text, ParsesPostgresOffsetsAndDurations) {
  EXPECT_EQ(parse_timestamp("1970-01-02 01:00:00+01"), 86400);
  EXPECT_EQ(parse_timestamp("1970-01-02 01:00:00+0100"), 86400);
  EXPECT_EQ(parse_timestamp("1970-01-02 01:00:00+01:00"), 86400);
  EXPECT_EQ(parse_timestamp("1970-01-01 23:00:00-01"), 86400);
  EXPECT_FALSE(parse_timestamp("1970-01-02 01:00:00+1"));
  EXPECT_FALSE(parse_timestamp("1970-01-02 01:00:00+99"));
  EXPECT_EQ(parse_duration("90"), 90);
  EXPECT_EQ(parse_duration("90s"), 90);
  EXPECT_EQ(parse_duration("30m"), 1800);
  EXPECT_EQ(parse_duration("2h"), 7200);
  EXPECT_EQ(parse_duration("90d"), 90 * 86400);
  EXPECT_FALSE(parse_duration("-1m"));
  EXPECT_FALSE(parse_duration("soon"));
  EXPECT_FALSE(parse_duration("1e30d"));
  EXPECT_EQ(without_password("postgresql://u:secret@h/db"), "postgresql://u:***@h/db");
  EXPECT_EQ(without_password("postgresql://h/db?password=secret&x=1"),
            "postgresql://h/db?password=***&x=1");
}

}  // namespace
}  // namespace reckon
