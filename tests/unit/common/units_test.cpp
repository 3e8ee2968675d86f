// common/units.h: sizes, durations and ages, as tables of good and bad input.
#include "common/units.h"

#include <gtest/gtest.h>

namespace cube {
namespace {

TEST(ParseSize, Good) {
  const std::pair<std::string_view, int64_t> cases[] = {
      {"0", 0},
      {"1073741824", 1073741824},
      {"512MiB", 512ll << 20},
      {"1GiB", 1ll << 30},
      {"1.5GiB", 3ll << 29},
      {"2TiB", 2ll << 40},
      {"4KiB", 4096},
      {"64M", 64ll << 20},  // M = MiB, as docker does
      {"64m", 64ll << 20},
      {"2g", 2ll << 30},
      {"2G", 2ll << 30},
      {"8k", 8192},
      {"8K", 8192},
      {"1t", 1ll << 40},
      {"10kB", 10000},
      {"10KB", 10000},
      {"3MB", 3000000},
      {"1GB", 1000000000},
      {"1TB", 1000000000000},
      {"900B", 900},
      {"900b", 900},
      {"512 MiB", 512ll << 20},  // a space before the unit
      {"0.5KiB", 512},
      {"1e3", 1000},
      {"4000000TiB", 4000000ll << 40},  // just under the 2^62 limit
  };
  for (const auto& [text, bytes] : cases) {
    auto parsed = parse_size(text);
    ASSERT_TRUE(parsed.is_ok()) << text << ": " << parsed.status().to_string();
    EXPECT_EQ(*parsed, bytes) << text;
  }
}

TEST(ParseSize, Bad) {
  for (std::string_view text : {"", "MiB", "B", "-1", "-1MiB", "12XB", "1.2.3", "ten", "1 0", "nan",
                                "inf", "1e30", "5000000TiB", "1MiBB", "1 iB", "GiB1"}) {
    auto parsed = parse_size(text);
    ASSERT_FALSE(parsed.is_ok()) << text << " parsed as " << *parsed;
    EXPECT_TRUE(parsed.status().is_invalid());
    // The message quotes the input and says what a size looks like.
    EXPECT_EQ(
        parsed.status().message(),
        "\"" + std::string(text) + "\" is not a size (use bytes or a unit such as 512MiB or 1GiB)");
  }
}

TEST(FormatSize, Table) {
  const std::pair<int64_t, std::string_view> cases[] = {
      {0, "0 B"},
      {900, "900 B"},
      {1023, "1023 B"},
      {1024, "1 KiB"},
      {1536, "1.5 KiB"},
      {512ll << 20, "512 MiB"},
      {3ll << 29, "1.5 GiB"},
      {1ll << 30, "1 GiB"},
      {(1ll << 30) + (1ll << 20), "1 GiB"},  // within 0.05 of a whole unit
      {5ll << 40, "5 TiB"},
      {3ll << 50, "3 PiB"},
      {2048ll << 50, "2048 PiB"},  // no unit above PiB
      {-2048, "-2 KiB"},
  };
  for (const auto& [bytes, text] : cases)
    EXPECT_EQ(format_size(bytes), text) << bytes;
}

TEST(FormatSize, ParsesBack) {
  for (int64_t bytes :
       {int64_t{0}, int64_t{512}, int64_t{1} << 20, int64_t{3} << 29, int64_t{7} << 40}) {
    std::string text = format_size(bytes);
    auto parsed = parse_size(text);
    ASSERT_TRUE(parsed.is_ok()) << text;
    EXPECT_EQ(*parsed, bytes) << text;
  }
}

TEST(ParseDuration, Good) {
  const std::pair<std::string_view, int64_t> cases[] = {
      {"250ms", 250}, {"0ms", 0},      {"5s", 5000},      {"1.5s", 1500},
      {"2m", 120000}, {"1h", 3600000}, {"5", 5000},       {"0.25", 250},
      {"0.5ms", 1},   {"0.4ms", 0},    {"24h", 86400000}, {"1000000h", 3600000000000},
  };
  for (const auto& [text, ms] : cases) {
    auto parsed = parse_duration(text);
    ASSERT_TRUE(parsed.is_ok()) << text << ": " << parsed.status().to_string();
    EXPECT_EQ(parsed->count(), ms) << text;
  }
}

TEST(ParseDuration, Bad) {
  for (std::string_view text :
       {"", "ms", "s", "-1s", "-5", "5x", "5 s", "five", "1d", "1e20h", "nan", "inf", "5sms"}) {
    auto parsed = parse_duration(text);
    ASSERT_FALSE(parsed.is_ok()) << text << " parsed as " << parsed->count();
    EXPECT_TRUE(parsed.status().is_invalid());
    EXPECT_EQ(parsed.status().message(),
              "\"" + std::string(text) + "\" is not a duration (use for example 500ms, 5s, 2m)");
  }
}

TEST(FormatAge, Table) {
  const std::pair<int64_t, std::string_view> cases[] = {
      {0, "0s"},         {999, "0s"},
      {12000, "12s"},    {119999, "119s"},
      {120000, "2m"},    {7199000, "119m"},
      {7200000, "2h"},   {172799000, "47h"},
      {172800000, "2d"}, {400ll * 86400000, "400d"},
      {-5000, "0s"},  // a clock step backwards shows as now
  };
  for (const auto& [ms, text] : cases)
    EXPECT_EQ(format_age(Millis(ms)), text) << ms;
}

}  // namespace
}  // namespace cube
