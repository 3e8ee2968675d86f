// Golden-byte tests (STYLE.md habit 20): the bytes of every CUBE1 message are pinned in
// tests/golden/<name>.hex. encode(sample) must produce them exactly, they must decode to the
// sample, and the compatibility rules of docs/protocol.md must hold on them: an unknown key is
// ignored and a missing key leaves the field at its default.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "protocol/codec.h"
#include "tests/unit/protocol/golden_files.h"
#include "tests/unit/protocol/msgpack_bytes.h"
#include "tests/unit/protocol/samples.h"

namespace cube::test {
namespace {

struct GoldenNames {
  template <typename M>
  static std::string GetName(int) {
    return golden_name<M>();
  }
};

std::vector<std::string> header_for(MessageType type, const std::string& description) {
  return {
      std::string(protocol::message_type_name(static_cast<uint8_t>(type))) + " (type " +
          std::to_string(static_cast<int>(type)) + "), protocol CUBE1: " + description,
      "Pinned by tests/unit/protocol/golden_test.cpp. A change to this file is a protocol",
      "change and needs a docs/protocol.md change in the same commit.",
      "Regenerate: CUBE_UPDATE_GOLDEN=1 <build>/tests/protocol_tests --gtest_filter='Golden*'",
  };
}

// Writes the codec fuzzer's seed for this body: the type byte, then the body.
void update_codec_seed(const std::string& name, MessageType type, const std::string& body) {
  std::string dir = fuzz_corpus_dir("codec_fuzz");
  std::filesystem::create_directories(dir);
  std::string seed(1, static_cast<char>(type));
  seed += body;
  ASSERT_TRUE(write_text_file(dir + "/golden_" + name, seed).is_ok());
}

template <typename M>
std::string golden_bytes() {
  std::string body = protocol::encode_body(sample<M>());
  auto golden = load_or_update_golden(golden_name<M>(), body,
                                      header_for(MessageTraits<M>::kType, sample_description<M>()));
  if (golden_update_requested())
    update_codec_seed(golden_name<M>(), MessageTraits<M>::kType, body);
  EXPECT_TRUE(golden.is_ok()) << golden.status().to_string();
  return golden.is_ok() ? *golden : std::string();
}

template <typename M>
M decode_ok(std::string_view body) {
  auto decoded = protocol::decode_as<M>(body);
  EXPECT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  return decoded.is_ok() ? *decoded : M{};
}

template <typename M>
class GoldenTest : public ::testing::Test {};
TYPED_TEST_SUITE(GoldenTest, AllMessageTypes, GoldenNames);

TYPED_TEST(GoldenTest, EncodeMatchesGoldenBytes) {
  std::string golden = golden_bytes<TypeParam>();
  std::string encoded = protocol::encode_body(sample<TypeParam>());
  if (encoded != golden) {
    // Compare the annotated dumps so the failure shows which key changed.
    EXPECT_EQ(format_hex_dump(encoded, {}), format_hex_dump(golden, {}))
        << "encoding of " << golden_name<TypeParam>() << " differs from "
        << golden_path(golden_name<TypeParam>());
  }
  EXPECT_EQ(encoded, golden);
}

TYPED_TEST(GoldenTest, GoldenDecodesToSample) {
  std::string golden = golden_bytes<TypeParam>();
  EXPECT_EQ(decode_ok<TypeParam>(golden), sample<TypeParam>());
}

TYPED_TEST(GoldenTest, UnknownTopLevelKeyIsIgnored) {
  std::string golden = golden_bytes<TypeParam>();
  // Whatever a newer peer adds, of any type, must not change what this decoder reads.
  const std::vector<std::string> values = {
      mp().nil().bytes(),
      mp().uint(42).bytes(),
      mp().sint(-7).bytes(),
      mp().str("from a newer peer").bytes(),
      mp().bin("\x01\x02").bytes(),
      mp().f64(2.5).bytes(),
      mp().boolean(true).bytes(),
      MsgpackWriter().array(2).str("a").map(1).str("k").array(0).bytes(),
      MsgpackWriter().map(2).str("nested").map(0).str("list").array(1).uint(1).bytes(),
  };
  for (const auto& value : values) {
    std::string body = append_key(golden, {}, "zz_added_in_cube_1_1", value);
    ASSERT_NE(body, golden);
    EXPECT_EQ(decode_ok<TypeParam>(body), sample<TypeParam>())
        << "unknown value " << format_hex_dump(value, {});
  }
}

TYPED_TEST(GoldenTest, UnknownKeyInNestedMapIsIgnored) {
  std::string golden = golden_bytes<TypeParam>();
  std::set<std::string> seen;
  for (const auto& c : field_cases<TypeParam>()) {
    if (c.map_path.empty() || !seen.insert(path_to_string(c.map_path)).second)
      continue;
    SCOPED_TRACE(path_to_string(c.map_path));
    std::string body = append_key(golden, c.map_path, "zz_new_field",
                                  MsgpackWriter().map(1).str("x").nil().bytes());
    EXPECT_EQ(decode_ok<TypeParam>(body), sample<TypeParam>());
  }
}

TYPED_TEST(GoldenTest, MissingKeyLeavesFieldAtDefault) {
  std::string golden = golden_bytes<TypeParam>();
  for (const auto& c : field_cases<TypeParam>()) {
    SCOPED_TRACE(path_to_string(c.map_path) + " without " + c.key);
    std::string body = remove_key(golden, c.map_path, c.key);
    ASSERT_LT(body.size(), golden.size());
    TypeParam expected = sample<TypeParam>();
    c.reset(expected);
    ASSERT_NE(expected, sample<TypeParam>()) << "the sample must not hold the default here";
    EXPECT_EQ(decode_ok<TypeParam>(body), expected);
  }
}

// The key table above must cover every key of every map it visits, so a field added to a
// message (and to its golden file) cannot skip the missing-key test.
TYPED_TEST(GoldenTest, FieldCasesCoverEveryKeyOfTheGolden) {
  std::string golden = golden_bytes<TypeParam>();
  std::map<std::string, std::pair<Path, std::set<std::string>>> by_map;
  by_map[path_to_string({})].first = {};
  for (const auto& c : field_cases<TypeParam>()) {
    auto& entry = by_map[path_to_string(c.map_path)];
    entry.first = c.map_path;
    entry.second.insert(c.key);
  }
  for (const auto& [name, entry] : by_map) {
    auto keys = keys_of(golden, entry.first);
    EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()), entry.second) << "map " << name;
    EXPECT_EQ(keys.size(), entry.second.size()) << "duplicate keys in map " << name;
  }
}

TYPED_TEST(GoldenTest, EncodingIsDeterministic) {
  TypeParam copy = sample<TypeParam>();
  EXPECT_EQ(protocol::encode_body(copy), protocol::encode_body(sample<TypeParam>()));
}

// Every type number listed in messages.h has a golden file, so a new message cannot ship
// without its bytes being pinned.
TEST(GoldenFiles, OneFilePerMessageType) {
  int types = 0;
  for (int t = 0; t < 256; ++t) {
    std::string_view name = protocol::message_type_name(static_cast<uint8_t>(t));
    if (name == "UNKNOWN")
      continue;
    ++types;
    std::string path = golden_path(golden_name(static_cast<MessageType>(t)));
    EXPECT_TRUE(std::filesystem::exists(path)) << name << ": " << path;
  }
  EXPECT_EQ(types, kMessageTypeCount);
}

TEST(GoldenFiles, ReplyWithErrorEncodesTaskAndBrokerAsNil) {
  Reply reply = sample_reply_error();
  std::string body = protocol::encode_body(reply);
  auto golden = load_or_update_golden(
      "reply_error", body,
      header_for(MessageType::Reply,
                 "the answer to a malformed request: error invalid, task and broker nil"));
  ASSERT_TRUE(golden.is_ok()) << golden.status().to_string();
  EXPECT_EQ(body, *golden);
  EXPECT_EQ(golden->substr(locate(*golden, {std::string("task")}), 1), "\xc0");
  EXPECT_EQ(golden->substr(locate(*golden, {std::string("broker")}), 1), "\xc0");
  EXPECT_EQ(golden->substr(locate(*golden, {std::string("error_code")}), 1), "\x02");

  Reply decoded = decode_ok<Reply>(*golden);
  EXPECT_EQ(decoded, reply);
  EXPECT_FALSE(decoded.task.has_value());
  EXPECT_FALSE(decoded.broker.has_value());
  EXPECT_TRUE(decoded.status.is_invalid());
}

// Keys added after the first release are written only when set: a message that leaves them empty
// keeps the bytes older peers sent (the plain golden files above), and one that sets them has
// them at the end, pinned here.
template <typename M>
void expect_later_key_golden(const M& message, const std::string& name, const std::string& key,
                             const std::string& description) {
  std::string body = protocol::encode_body(message);
  auto golden = load_or_update_golden(name, body, header_for(MessageTraits<M>::kType, description));
  ASSERT_TRUE(golden.is_ok()) << golden.status().to_string();
  EXPECT_EQ(body, *golden);
  EXPECT_EQ(decode_ok<M>(*golden), message);
  auto keys = keys_of(*golden, {});
  ASSERT_FALSE(keys.empty());
  EXPECT_EQ(keys.back(), key);
  std::string without = protocol::encode_body(M{});
  auto default_keys = keys_of(without, {});
  EXPECT_EQ(std::count(default_keys.begin(), default_keys.end(), key), 0)
      << key << " is written although it is empty";
}

TEST(GoldenFiles, HelloAndWelcomeCarryFeaturesOnlyWhenSet) {
  expect_later_key_golden(sample_hello_with_features(), "hello_features", "features",
                          "the HELLO sample of hello.hex with features [\"batches\"]");
  expect_later_key_golden(sample_welcome_with_features(), "welcome_features", "features",
                          "the WELCOME sample of welcome.hex with features [\"batches\"]");
}

TEST(GoldenFiles, ReplyToASubmitBatchCarriesOneOutcomePerTask) {
  expect_later_key_golden(sample_reply_submit_batch(), "reply_submit_batch", "submitted",
                          "the answer to SUBMIT_BATCH: one task stored, one refused as invalid");
}

TEST(GoldenFiles, ServiceRepliesCarryTheServicesOnlyWhenSet) {
  expect_later_key_golden(sample_reply_services(), "reply_services", "services",
                          "the answer to SERVICE_INSPECT (tasks left out): service web, 2 of 3 "
                          "replicas running, 3 tasks not ended");
}

TEST(GoldenFiles, EventsRepliesCarryTheFeedOnlyWhenSet) {
  expect_later_key_golden(sample_reply_events(), "reply_events", "next_index",
                          "the answer to EVENTS: a task, a node and a service event, next "
                          "index 44");
}

// A service's replica carries its service, slot and template version as the last keys of its
// task map; a task of no service carries none of them (assign.hex).
TEST(GoldenFiles, AReplicaCarriesItsServiceSlotAndVersionOnlyWhenSet) {
  Assign replica = sample_assign_replica();
  std::string body = protocol::encode_body(replica);
  auto golden =
      load_or_update_golden("assign_replica", body,
                            header_for(MessageType::Assign,
                                       "the ASSIGN of task web.2: slot 2 of service web, made "
                                       "from its template version 7"));
  ASSERT_TRUE(golden.is_ok()) << golden.status().to_string();
  EXPECT_EQ(body, *golden);
  EXPECT_EQ(decode_ok<Assign>(*golden), replica);
  auto keys = keys_of(*golden, {std::string("task")});
  ASSERT_GE(keys.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(keys.end() - 3, keys.end()),
            (std::vector<std::string>{"service", "slot", "service_version"}));
  auto plain = keys_of(protocol::encode_body(sample<Assign>()), {std::string("task")});
  EXPECT_EQ(std::count(plain.begin(), plain.end(), "service"), 0);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), "slot"), 0);
}

TEST(GoldenFiles, ExitCodeNilAndSetAreDistinctOnTheWire) {
  std::string golden = protocol::encode_body(sample<Hello>());
  // tasks[0] exited with 0, tasks[1] is running (nil): 0x00 versus 0xc0.
  EXPECT_EQ(
      golden.substr(locate(golden, {std::string("tasks"), size_t{0}, std::string("exit_code")}), 1),
      std::string(1, '\0'));
  EXPECT_EQ(
      golden.substr(locate(golden, {std::string("tasks"), size_t{1}, std::string("exit_code")}), 1),
      "\xc0");
}

TEST(GoldenFiles, HexDumpParserRejectsGarbage) {
  EXPECT_EQ(*parse_hex_dump("# comment\n81 a1 61 # trailing\n01\n"),
            std::string("\x81\xa1\x61\x01"));
  EXPECT_FALSE(parse_hex_dump("8").is_ok());
  EXPECT_FALSE(parse_hex_dump("zz").is_ok());
  auto bad = parse_hex_dump("00\n0g\n");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos) << bad.status().message();
}

TEST(GoldenFiles, HexDumpRoundTrips) {
  std::string body = protocol::encode_body(sample<Reply>());
  auto parsed = parse_hex_dump(format_hex_dump(body, {"header"}));
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ(*parsed, body);
}

}  // namespace
}  // namespace cube::test
