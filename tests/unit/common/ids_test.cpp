// common/ids.h: UUIDv7 task IDs (time-ordered), random IDs, and the UUID shape check.
#include "common/ids.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

namespace cube {
namespace {

// 2025-11-23T10:00:00Z.
constexpr int64_t kT0 = 1763892000000;

std::string hex12(uint64_t ms) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%012llx", static_cast<unsigned long long>(ms));
  return buf;
}

TEST(UuidV7, FormatVersionAndVariant) {
  std::string id = new_uuid_v7(from_unix_ms(kT0));
  ASSERT_EQ(id.size(), 36u) << id;
  EXPECT_TRUE(is_uuid(id)) << id;
  EXPECT_TRUE(is_uuid_v7(id)) << id;
  EXPECT_FALSE(is_uuid_v7(new_random_id()));
  EXPECT_EQ(id[8], '-');
  EXPECT_EQ(id[13], '-');
  EXPECT_EQ(id[18], '-');
  EXPECT_EQ(id[23], '-');
  EXPECT_EQ(id[14], '7') << "version nibble: " << id;
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << "RFC 4122 variant: " << id;
  EXPECT_TRUE(std::all_of(
      id.begin(), id.end(),
      [](char c) { return c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }))
      << "lowercase hex: " << id;
}

TEST(UuidV7, First48BitsAreTheMilliseconds) {
  // The largest value is near the end of SystemTime's range (year 2255; nanosecond ticks).
  for (int64_t ms : {int64_t{0}, int64_t{1}, kT0, int64_t{9'000'000'000'000}}) {
    std::string id = new_uuid_v7(from_unix_ms(ms));
    std::string prefix = id.substr(0, 8) + id.substr(9, 4);
    EXPECT_EQ(prefix, hex12(static_cast<uint64_t>(ms))) << id;
  }
}

TEST(UuidV7, TimeOrderedWhenMillisecondsIncrease) {
  ManualClock clock(from_unix_ms(kT0));
  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    ids.push_back(new_uuid_v7(clock.wall()));
    clock.advance(Millis(1 + i % 3));
  }
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
}

TEST(UuidV7, SameMillisecondStillUnique) {
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i)
    ids.insert(new_uuid_v7(from_unix_ms(kT0)));
  EXPECT_EQ(ids.size(), 10000u);
}

TEST(UuidV7, ThreadSafe) {
  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& out : per_thread) {
    threads.emplace_back([&out] {
      for (int i = 0; i < 2000; ++i)
        out.push_back(new_uuid_v7(from_unix_ms(kT0)));
    });
  }
  for (auto& t : threads)
    t.join();
  std::set<std::string> all;
  for (const auto& out : per_thread)
    all.insert(out.begin(), out.end());
  EXPECT_EQ(all.size(), 8000u);
}

TEST(RandomId, Version4AndUnique) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    std::string id = new_random_id();
    ASSERT_TRUE(is_uuid(id)) << id;
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(IsUuid, Table) {
  for (std::string_view good :
       {"3fa85f64-5717-4562-b3fc-2c963f66afa6", "3FA85F64-5717-4562-B3FC-2C963F66AFA6",
        "00000000-0000-0000-0000-000000000000", "0192f3a4-5b6c-7d8e-9f01-23456789abcd"}) {
    EXPECT_TRUE(is_uuid(good)) << good;
  }
  for (std::string_view bad : {"", "my-task", "3fa85f64-5717-4562-b3fc-2c963f66afa",  // 35 chars
                               "3fa85f64-5717-4562-b3fc-2c963f66afa60",               // 37 chars
                               "3fa85f6405717-4562-b3fc-2c963f66afa6",   // dash missing
                               "3fa85f64-5717-4562-b3fc-2c963f66afg6",   // not hex
                               "{3fa85f64-5717-4562-b3fc-2c963f66afa}",  // braces
                               "3fa85f64571745621b3fc12c963f66afa6aa"}) {
    EXPECT_FALSE(is_uuid(bad)) << bad;
  }
}

TEST(UuidBytes, ALowercaseUuidComesBackAsWritten) {
  for (int i = 0; i < 100; ++i) {
    std::string id = i % 2 == 0 ? new_uuid_v7(from_unix_ms(kT0 + i)) : new_random_id();
    std::optional<UuidBytes> bytes = parse_lowercase_uuid(id);
    ASSERT_TRUE(bytes.has_value()) << id;
    EXPECT_EQ(format_uuid(*bytes), id);
  }
  std::optional<UuidBytes> bytes = parse_lowercase_uuid("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ((*bytes)[0], 0x01);
  EXPECT_EQ((*bytes)[1], 0x90);
  EXPECT_EQ((*bytes)[15], 0x5b);
}

TEST(UuidBytes, AnythingThatWouldNotComeBackAsWrittenIsRefused) {
  for (std::string_view text :
       {"", "t3", "0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5",
        "0190a1b2c3d47e5f8a9b0c1d2e3f4a5b", "0190a1b2-c3d4-7e5f-8a9b_0c1d2e3f4a5b",
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b0"}) {
    EXPECT_FALSE(parse_lowercase_uuid(text).has_value()) << text;
  }
}

}  // namespace
}  // namespace cube
