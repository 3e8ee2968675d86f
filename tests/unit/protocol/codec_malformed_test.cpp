// Malformed bodies: the decoder must not crash, must not stall, and must return Invalid with a
// message that says what is wrong (docs/protocol.md, "Defensive decoding").
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "common/clock.h"
#include "protocol/codec.h"
#include "tests/fuzz/fuzz_targets.h"
#include "tests/unit/protocol/msgpack_bytes.h"
#include "tests/unit/protocol/samples.h"

namespace cube::test {
namespace {

using protocol::decode_as;
using protocol::encode_body;

struct TypeNames {
  template <typename M>
  static std::string GetName(int) {
    return golden_name<M>();
  }
};

// Invalid, and the message contains `needle`.
template <typename M>
void expect_invalid(std::string_view body, std::string_view needle) {
  auto decoded = decode_as<M>(body);
  ASSERT_FALSE(decoded.is_ok()) << "decoded a malformed body";
  EXPECT_TRUE(decoded.status().is_invalid()) << decoded.status().to_string();
  EXPECT_NE(decoded.status().message().find(needle), std::string::npos)
      << "message \"" << decoded.status().message() << "\" does not mention " << needle;
}

template <typename M>
class MalformedTest : public ::testing::Test {};
TYPED_TEST_SUITE(MalformedTest, AllMessageTypes, TypeNames);

TYPED_TEST(MalformedTest, TruncatedAtEveryLength) {
  std::string body = encode_body(sample<TypeParam>());
  for (size_t n = 0; n < body.size(); ++n) {
    SCOPED_TRACE("first " + std::to_string(n) + " of " + std::to_string(body.size()) + " bytes");
    expect_invalid<TypeParam>(std::string_view(body).substr(0, n), "malformed MessagePack");
  }
}

TYPED_TEST(MalformedTest, TrailingBytes) {
  std::string body = encode_body(sample<TypeParam>());
  expect_invalid<TypeParam>(body + '\0', "trailing bytes");
  expect_invalid<TypeParam>(body + body, "trailing bytes");
}

TYPED_TEST(MalformedTest, BodyThatIsNotAMap) {
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {MsgpackWriter().array(0).bytes(), "an array"},
      {MsgpackWriter().array(1).map(0).bytes(), "an array"},
      {MsgpackWriter().str("HELLO").bytes(), "a string"},
      {MsgpackWriter().uint(1).bytes(), "an integer"},
      {MsgpackWriter().sint(-1).bytes(), "an integer"},
      {MsgpackWriter().nil().bytes(), "nil"},
      {MsgpackWriter().boolean(true).bytes(), "a boolean"},
      {MsgpackWriter().f64(1.0).bytes(), "a float"},
      {MsgpackWriter().bin("x").bytes(), "binary"},
  };
  for (const auto& [body, got] : bodies)
    expect_invalid<TypeParam>(body, "field \"body\": expected a map, got " + got);
}

TYPED_TEST(MalformedTest, NonStringKey) {
  expect_invalid<TypeParam>(MsgpackWriter().map(1).uint(1).uint(2).bytes(),
                            "map key is not a string");
  expect_invalid<TypeParam>(MsgpackWriter().map(1).nil().uint(2).bytes(),
                            "map key is not a string");
}

// Every key of every message (nested ones included) with a value of the wrong type: Invalid,
// naming the key.
TYPED_TEST(MalformedTest, WrongTypeForEveryField) {
  std::string golden = encode_body(sample<TypeParam>());
  for (const auto& c : field_cases<TypeParam>()) {
    SCOPED_TRACE(path_to_string(c.map_path) + "." + c.key);
    size_t map_at = locate(golden, c.map_path);
    size_t value_at = 0;
    for (const auto& e : map_layout(golden, map_at).entries) {
      if (e.key == c.key)
        value_at = e.value;
    }
    // Two values of types the field cannot take, chosen from what the golden holds there:
    // text and bytes (str or bin) take neither integers nor booleans; booleans take neither
    // strings nor integers; numbers and containers take neither strings nor booleans.
    auto first = static_cast<uint8_t>(golden[value_at]);
    bool is_text = (first & 0xe0) == 0xa0 || (first >= 0xd9 && first <= 0xdb) ||
                   (first >= 0xc4 && first <= 0xc6);
    bool is_bool = first == 0xc2 || first == 0xc3;
    std::vector<std::string> wrong;
    if (is_text) {
      wrong = {mp().uint(7).bytes(), mp().boolean(true).bytes()};
    } else if (is_bool) {
      wrong = {mp().str("wrong").bytes(), mp().uint(7).bytes()};
    } else {
      wrong = {mp().str("wrong").bytes(), mp().boolean(true).bytes()};
    }
    for (const auto& value : wrong) {
      expect_invalid<TypeParam>(replace_value(golden, c.map_path, c.key, value),
                                "field \"" + c.key + "\"");
    }
  }
}

TYPED_TEST(MalformedTest, RandomMutationsOfTheGolden) {
  std::string golden = encode_body(sample<TypeParam>());
  std::mt19937 rng(20251123);
  for (int i = 0; i < 1000; ++i) {
    std::string body = golden;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !body.empty(); ++e) {
      size_t at = rng() % body.size();
      switch (rng() % 4) {
        case 0:
          body[at] = static_cast<char>(rng());
          break;
        case 1:
          body[at] = static_cast<char>(body[at] ^ (1 << (rng() % 8)));
          break;
        case 2:
          body.erase(at, 1 + rng() % 8);
          break;
        default:
          body.insert(at, 1, static_cast<char>(rng()));
          break;
      }
    }
    std::string type_and_body(1, static_cast<char>(MessageTraits<TypeParam>::kType));
    type_and_body += body;
    std::string problem = fuzz::check_codec_input(
        reinterpret_cast<const uint8_t*>(type_and_body.data()), type_and_body.size());
    ASSERT_EQ(problem, "") << "mutation " << i;
  }
}

// --- every field of a Task with values of the wrong type ---

struct WrongValue {
  std::string key;       // the task key whose value is replaced
  std::string value;     // the replacement
  std::string expected;  // what the error must mention
};

std::vector<WrongValue> wrong_task_values() {
  std::vector<WrongValue> cases;
  auto add = [&](const std::string& key, const std::string& value, std::string expected = "") {
    cases.push_back({key, value, expected.empty() ? "field \"" + key + "\"" : expected});
  };
  const std::string not_str[] = {mp().uint(1).bytes(),
                                 mp().sint(-1).bytes(),
                                 mp().f64(1.5).bytes(),
                                 mp().boolean(false).bytes(),
                                 mp().nil().bytes(),
                                 mp().bin("x").bytes(),
                                 MsgpackWriter().array(0).bytes(),
                                 map_header(0)};
  const std::string not_int[] = {mp().str("1").bytes(),
                                 mp().f64(1.0).bytes(),
                                 mp().boolean(true).bytes(),
                                 mp().nil().bytes(),
                                 MsgpackWriter().array(1).uint(1).bytes(),
                                 map_header(0),
                                 mp().bin("\x01").bytes()};
  const std::string not_list[] = {mp().str("ls").bytes(),
                                  map_header(0),
                                  mp().uint(0).bytes(),
                                  mp().nil().bytes(),
                                  MsgpackWriter().array(2).str("ok").uint(1).bytes(),
                                  MsgpackWriter().array(1).array(0).bytes()};
  const std::string not_map[] = {mp().str("a=b").bytes(),
                                 MsgpackWriter().array(0).bytes(),
                                 mp().uint(0).bytes(),
                                 mp().nil().bytes(),
                                 MsgpackWriter().map(1).str("k").uint(1).bytes(),
                                 MsgpackWriter().map(1).uint(1).str("v").bytes()};
  for (const char* key : {"id", "name", "image", "restart_policy", "health_check", "driver",
                          "node_id", "node", "reason", "container_id"}) {
    for (const auto& v : not_str)
      add(key, v);
  }
  for (const char* key : {"memory_bytes", "disk_bytes", "duration_ms", "attempt", "restart_count",
                          "start_time_ms", "finish_time_ms", "created_ms", "updated_ms"}) {
    for (const auto& v : not_int)
      add(key, v);
  }
  for (const char* key : {"cmd", "env", "exposed_ports", "constraints"}) {
    for (const auto& v : not_list)
      add(key, v);
  }
  for (const auto& v : not_map)
    add("labels", v);
  // cpu takes any number; everything else is wrong.
  for (const auto& v : {mp().str("1.5").bytes(), mp().boolean(true).bytes(), mp().nil().bytes(),
                        MsgpackWriter().array(0).bytes(), map_header(0)}) {
    add("cpu", v);
  }
  // States are integers 0..4 on the wire.
  for (const auto& key : {"state", "desired_state"}) {
    for (const auto& v : {mp().str("Running").bytes(), mp().f64(2.0).bytes(), mp().nil().bytes(),
                          mp().boolean(false).bytes()}) {
      add(key, v);
    }
    add(key, mp().uint(9).bytes(), "unknown task state 9");
    add(key, mp().uint(5).bytes(), "unknown task state 5");
    add(key, mp().sint(-1).bytes(), "unknown task state -1");
    add(key, mp().uint(UINT64_MAX).bytes(), "integer out of range");
  }
  // exit_code is an optional int32: nil is fine, other types and ranges are not.
  for (const auto& v : {mp().str("0").bytes(), mp().f64(1.0).bytes(), mp().boolean(true).bytes(),
                        MsgpackWriter().array(0).bytes()}) {
    add("exit_code", v);
  }
  add("exit_code", mp().uint(1ull << 31).bytes(), "integer out of range");
  add("exit_code", mp().sint(-(1ll << 31) - 1).bytes(), "integer out of range");
  // port_bindings: map of port -> array of {host_ip, host_port}.
  add("port_bindings", mp().str("80").bytes());
  add("port_bindings", MsgpackWriter().array(0).bytes());
  add("port_bindings", MsgpackWriter().map(1).str("80/tcp").str("x").bytes());
  add("port_bindings", MsgpackWriter().map(1).str("80/tcp").array(1).str("x").bytes());
  add("port_bindings", MsgpackWriter().map(1).uint(80).array(0).bytes());
  add("port_bindings",
      MsgpackWriter().map(1).str("80/tcp").array(1).map(1).str("host_port").uint(80).bytes(),
      "field \"host_port\"");
  add("port_bindings",
      MsgpackWriter().map(1).str("80/tcp").array(1).map(1).str("host_ip").nil().bytes(),
      "field \"host_ip\"");
  return cases;
}

TEST(MalformedTask, WrongTypeForEveryFieldInAssignAndSubmit) {
  std::string assign = encode_body(sample<protocol::Assign>());
  std::string submit = encode_body(sample<SubmitRequest>());
  auto cases = wrong_task_values();
  std::set<std::string> keys;
  for (const auto& c : cases) {
    keys.insert(c.key);
    SCOPED_TRACE(c.key + " = " + to_hex(c.value));
    expect_invalid<protocol::Assign>(replace_value(assign, {std::string("task")}, c.key, c.value),
                                     c.expected);
    expect_invalid<SubmitRequest>(replace_value(submit, {std::string("task")}, c.key, c.value),
                                  c.expected);
  }
  EXPECT_EQ(keys.size(), 29u) << "every Task key has wrong-type cases";
}

TEST(MalformedTask, NegativeValuesForUnsignedFields) {
  const std::string minus_one = mp().sint(-1).bytes();
  const char* const kNegative = "expected an unsigned integer, got a negative one";
  expect_invalid<protocol::Assign>(replace_value(encode_body(sample<protocol::Assign>()),
                                                 {std::string("task")}, "attempt", minus_one),
                                   std::string("field \"attempt\": ") + kNegative);
  expect_invalid<Credit>(replace_value(encode_body(sample<Credit>()), {}, "free_slots", minus_one),
                         kNegative);
  expect_invalid<Hello>(replace_value(encode_body(sample<Hello>()), {}, "seq", minus_one),
                        kNegative);
  expect_invalid<Hello>(replace_value(encode_body(sample<Hello>()), {std::string("capacity")},
                                      "slots", mp().sint(-100000).bytes()),
                        kNegative);
  expect_invalid<ListRequest>(
      replace_value(encode_body(sample<ListRequest>()), {}, "request_id", minus_one), kNegative);
  expect_invalid<AgentHeartbeat>(
      replace_value(encode_body(sample<AgentHeartbeat>()), {}, "running", mp().sint(-32).bytes()),
      kNegative);
  expect_invalid<Accept>(
      replace_value(encode_body(sample<Accept>()), {}, "attempt", mp().sint(INT64_MIN).bytes()),
      kNegative);
}

TEST(MalformedTask, IntegersOutOfRange) {
  // attempt is uint32, free_slots uint32, restart_count int32, memory_bytes int64.
  expect_invalid<Accept>(
      replace_value(encode_body(sample<Accept>()), {}, "attempt", mp().uint(1ull << 32).bytes()),
      "field \"attempt\": integer out of range");
  expect_invalid<Credit>(
      replace_value(encode_body(sample<Credit>()), {}, "free_slots", mp().uint(UINT64_MAX).bytes()),
      "integer out of range");
  std::string assign = encode_body(sample<protocol::Assign>());
  expect_invalid<protocol::Assign>(
      replace_value(assign, {std::string("task")}, "restart_count", mp().uint(1ull << 31).bytes()),
      "field \"restart_count\": integer out of range");
  expect_invalid<protocol::Assign>(
      replace_value(assign, {std::string("task")}, "memory_bytes", mp().uint(1ull << 63).bytes()),
      "field \"memory_bytes\": integer out of range");
}

TEST(MalformedTask, StateNineInEveryPlaceAStateLives) {
  const std::string nine = mp().uint(9).bytes();
  expect_invalid<protocol::Assign>(
      replace_value(encode_body(sample<protocol::Assign>()), {std::string("task")}, "state", nine),
      "field \"state\": unknown task state 9");
  expect_invalid<TaskStateEvent>(
      replace_value(encode_body(sample<TaskStateEvent>()), {std::string("status")}, "state", nine),
      "unknown task state 9");
  expect_invalid<Reply>(replace_value(encode_body(sample<Reply>()),
                                      {std::string("events"), size_t{0}}, "state", nine),
                        "unknown task state 9");
}

// --- hostile headers ---

TEST(MalformedHeaders, HugeDeclaredLengths) {
  // Each claims up to 4 GiB (or 4 G elements) and then ends: nothing may be allocated for the
  // claim, and the answer is Invalid.
  const std::vector<std::pair<std::string, std::string>> values = {
      {"str32 of 4 GiB", std::string("\xdb\xff\xff\xff\xff"
                                     "abc",
                                     8)},
      {"str32 of 2 GiB", std::string("\xdb\x80\x00\x00\x00"
                                     "abc",
                                     8)},
      {"bin32 of 4 GiB", std::string("\xc6\xff\xff\xff\xff"
                                     "abc",
                                     8)},
      {"ext32 of 4 GiB", std::string("\xc9\xff\xff\xff\xff\x01"
                                     "abc",
                                     9)},
      {"array32 of 4 G", std::string("\xdd\xff\xff\xff\xff\x01", 6)},
      {"map32 of 4 G", std::string("\xdf\xff\xff\xff\xff\xa1"
                                   "k\x01",
                                   8)},
      {"array32 of 100000 (at the limit), empty", std::string("\xdd\x00\x01\x86\xa0", 5)},
      {"map16 of 10000 (at the limit), empty", std::string("\xde\x27\x10", 3)},
      {"str16 of 65535, 1 byte", std::string("\xda\xff\xff"
                                             "a",
                                             4)},
  };
  std::string golden = encode_body(sample<protocol::Assign>());
  for (const auto& [what, value] : values) {
    SCOPED_TRACE(what);
    // As the body itself, as a known field, and as an unknown (ignored) field.
    expect_invalid<protocol::Assign>(value, "malformed MessagePack");
    expect_invalid<protocol::Assign>(replace_value(golden, {std::string("task")}, "name", value),
                                     "malformed MessagePack");
    expect_invalid<protocol::Assign>(append_key(golden, {}, "zz_unknown", value),
                                     "malformed MessagePack");
    EXPECT_EQ(protocol::peek_request_id(value), 0u);
  }
}

// Arrays of 100,000 declared elements nested 16 deep with nothing inside: each level allocates
// its element table up front, so this is the worst a short frame can ask for. It must fail
// fast with Invalid.
TEST(MalformedHeaders, NestedMaximalArraysWithoutElements) {
  std::string body;
  for (int i = 0; i < 16; ++i)
    body += std::string("\xdd\x00\x01\x86\xa0", 5);
  expect_invalid<protocol::Assign>(body, "malformed MessagePack");
}

TEST(MalformedHeaders, DeepNesting) {
  std::string arrays;
  std::string maps;
  for (int i = 0; i < 1000; ++i) {
    arrays += '\x91';                     // array of 1
    maps += std::string("\x81\xa1k", 3);  // {"k": ...}
  }
  arrays += '\x01';
  maps += '\x01';
  std::string golden = encode_body(sample<protocol::Assign>());
  for (const auto& nested : {arrays, maps}) {
    expect_invalid<protocol::Assign>(nested, "depth");
    expect_invalid<protocol::Assign>(replace_value(golden, {std::string("task")}, "cmd", nested),
                                     "depth");
    expect_invalid<protocol::Assign>(append_key(golden, {}, "zz_unknown", nested), "depth");
    EXPECT_EQ(protocol::peek_request_id(nested), 0u);
  }
}

// Nesting within the limit in a key this version does not know is forward compatible.
TEST(MalformedHeaders, ModerateNestingInUnknownKeyIsFine) {
  std::string nested;
  for (int i = 0; i < 10; ++i)
    nested += '\x91';
  nested += '\x01';
  auto decoded = decode_as<Credit>(append_key(encode_body(sample<Credit>()), {}, "zz", nested));
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, sample<Credit>());
}

TEST(MalformedHeaders, ReservedByteAndExtensions) {
  expect_invalid<Sync>(std::string("\xc1", 1), "malformed MessagePack");
  expect_invalid<Sync>(MsgpackWriter().map(1).str("reason").raw("\xc1").bytes(),
                       "malformed MessagePack");
  // Extensions are refused by the unpack limits (ext size 0), even in unknown keys.
  expect_invalid<Sync>(MsgpackWriter().map(1).str("zz").raw(std::string("\xd4\x01\x02", 3)).bytes(),
                       "malformed MessagePack");
}

// --- random garbage ---

uint64_t elapsed_ms(SteadyTime start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<Millis>(system_clock().now() - start).count());
}

TEST(RandomGarbage, TwentyThousandInputsDecodeToInvalidOrValid) {
  std::vector<uint8_t> types;  // every type number messages.h lists
  for (int t = 0; t < 256; ++t) {
    if (std::string_view(protocol::message_type_name(static_cast<uint8_t>(t))) != "UNKNOWN")
      types.push_back(static_cast<uint8_t>(t));
  }
  ASSERT_EQ(types.size(), static_cast<size_t>(kMessageTypeCount));
  std::mt19937_64 rng(42);
  SteadyTime start = system_clock().now();
  int past_the_parser = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string data(1 + rng() % 96, '\0');
    for (char& c : data)
      c = static_cast<char>(rng());
    // The first byte picks the message type (the fuzz target's convention). Half of the
    // bodies start with a small map header so that the field checks run too.
    data[0] = static_cast<char>(types[rng() % types.size()]);
    if (i % 2 == 0 && data.size() > 1)
      data[1] = static_cast<char>(0x80 | (rng() % 4));
    std::string problem =
        fuzz::check_codec_input(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    ASSERT_EQ(problem, "") << "input " << i << ": " << to_hex(data);
    auto status = decode_as<Sync>(std::string_view(data).substr(1)).status();
    if (status.is_ok() || status.message().find("malformed") == std::string::npos)
      ++past_the_parser;
  }
  // Bounded time: 20,000 small inputs take well under a second; a stall would take far longer.
  EXPECT_LT(elapsed_ms(start), 20000u);
  // The inputs reach the field checks, not only the MessagePack parser.
  EXPECT_GT(past_the_parser, 100);
}

TEST(RandomGarbage, PeekRequestIdOnGarbageIsZeroOrARealId) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string data(rng() % 64, '\0');
    for (char& c : data)
      c = static_cast<char>(rng());
    uint64_t id = protocol::peek_request_id(data);
    // Random bytes essentially never form a map with a "request_id" key.
    EXPECT_EQ(id, 0u) << "input " << i;
  }
}

}  // namespace
}  // namespace cube::test
