// Round trips of every CUBE1 message through protocol/codec.h, including edge values (integer
// limits, nil optionals, odd strings) and the unpack limits of docs/protocol.md.
#include "protocol/codec.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

#include "tests/unit/protocol/msgpack_bytes.h"
#include "tests/unit/protocol/samples.h"

namespace cube::test {
namespace {

using protocol::decode_as;
using protocol::encode_body;

template <typename M>
M round_trip(const M& message) {
  auto decoded = decode_as<M>(encode_body(message));
  EXPECT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  return decoded.is_ok() ? *decoded : M{};
}

struct TypeNames {
  template <typename M>
  static std::string GetName(int) {
    return golden_name<M>();
  }
};

template <typename M>
class RoundTripTest : public ::testing::Test {};
TYPED_TEST_SUITE(RoundTripTest, AllMessageTypes, TypeNames);

TYPED_TEST(RoundTripTest, DefaultValue) {
  TypeParam message{};
  EXPECT_EQ(round_trip(message), message);
}

TYPED_TEST(RoundTripTest, SampleWithEveryFieldSet) {
  EXPECT_EQ(round_trip(sample<TypeParam>()), sample<TypeParam>());
}

// An empty map is a valid body of every message: every field keeps its default.
TYPED_TEST(RoundTripTest, EmptyMapDecodesToDefaults) {
  auto decoded = decode_as<TypeParam>(map_header(0));
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, TypeParam{});
}

// Every key is always encoded, so decoding a full body into a struct that already holds values
// replaces all of them: arrays and maps are cleared, nil resets an optional.
TYPED_TEST(RoundTripTest, DecodeReplacesPreviousContents) {
  TypeParam target = sample<TypeParam>();
  ASSERT_TRUE(protocol::decode_body(encode_body(TypeParam{}), target).is_ok());
  EXPECT_EQ(target, TypeParam{});
}

// Keys are found wherever they are: the decoder expects the field table's order (it tries the
// next field first) but a peer may write any order, and unknown keys between known ones.
TYPED_TEST(RoundTripTest, KeysInReverseOrderWithUnknownKeysDecodeTheSame) {
  std::string body = encode_body(sample<TypeParam>());
  MapLayout layout = map_layout(body, 0);
  std::string reversed = map_header(static_cast<uint32_t>(2 * layout.entries.size()));
  for (auto it = layout.entries.rbegin(); it != layout.entries.rend(); ++it) {
    reversed += body.substr(it->begin, it->end - it->begin);
    reversed += mp().str("zz_unknown_" + it->key).uint(7).bytes();
  }
  auto decoded = decode_as<TypeParam>(reversed);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, sample<TypeParam>());
}

// A nested task's keys, reversed, as well: the lookup hint is per map.
TEST(RoundTrip, TaskKeysInReverseOrderInsideASubmitBatch) {
  std::string task_body = encode_body(protocol::Assign{sample_task()});
  MapLayout task_layout = map_layout(task_body, map_layout(task_body, 0).entries[0].value);
  std::string task = map_header(static_cast<uint32_t>(task_layout.entries.size()));
  for (auto it = task_layout.entries.rbegin(); it != task_layout.entries.rend(); ++it)
    task += task_body.substr(it->begin, it->end - it->begin);
  std::string body = map_header(2) + mp().str("request_id").uint(9).bytes() +
                     mp().str("tasks").array(2).bytes() + task + task;
  auto decoded = decode_as<protocol::SubmitBatchRequest>(body);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->tasks, (std::vector<Task>{sample_task(), sample_task()}));
}

TEST(RoundTrip, TaskWithExtremeIntegers) {
  Task t = sample_task();
  t.memory_bytes = std::numeric_limits<int64_t>::max();
  t.disk_bytes = std::numeric_limits<int64_t>::min();
  t.duration_ms = -1;
  t.attempt = std::numeric_limits<uint32_t>::max();
  t.restart_count = std::numeric_limits<int32_t>::min();
  t.exit_code = std::numeric_limits<int32_t>::min();
  t.start_time_ms = 0;
  t.finish_time_ms = -1;
  t.created_ms = std::numeric_limits<int64_t>::max();
  t.updated_ms = 1;
  EXPECT_EQ(round_trip(protocol::Assign{t}).task, t);

  t.exit_code = std::numeric_limits<int32_t>::max();
  t.restart_count = std::numeric_limits<int32_t>::max();
  EXPECT_EQ(round_trip(protocol::Assign{t}).task, t);
}

TEST(RoundTrip, UnsignedLimits) {
  Hello hello;
  hello.seq = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(round_trip(hello).seq, std::numeric_limits<uint64_t>::max());
  Credit credit;
  credit.free_slots = std::numeric_limits<uint32_t>::max();
  EXPECT_EQ(round_trip(credit).free_slots, std::numeric_limits<uint32_t>::max());
  EXPECT_EQ(round_trip(ListRequest{std::numeric_limits<uint64_t>::max()}).request_id,
            std::numeric_limits<uint64_t>::max());
}

TEST(RoundTrip, ExitCodeNilZeroAndNegativeStayDistinct) {
  for (std::optional<int32_t> code : {std::optional<int32_t>(), std::optional<int32_t>(0),
                                      std::optional<int32_t>(-15), std::optional<int32_t>(255)}) {
    AttemptStatus s = sample_status_exited();
    s.exit_code = code;
    TaskStateEvent event;
    event.status = s;
    EXPECT_EQ(round_trip(event).status.exit_code, code);
  }
}

TEST(RoundTrip, EveryTaskStateAndErrorCode) {
  for (int i = 0; i < kTaskStateCount; ++i) {
    Task t;
    t.state = static_cast<TaskState>(i);
    t.desired_state = static_cast<TaskState>(i);
    EXPECT_EQ(round_trip(SubmitRequest{1, t}).task, t);
  }
  for (int i = 0; i <= static_cast<int>(ErrorCode::TooOld); ++i) {
    ErrorMessage e{static_cast<ErrorCode>(i), "m"};
    EXPECT_EQ(round_trip(e), e);
  }
}

TEST(RoundTrip, ReplyStatusCarriesCodeAndMessage) {
  for (const Status& status :
       {Status::ok(), Status::not_found("no task x"), Status::invalid("field \"Image\": required"),
        Status::conflict("c"), Status::unavailable("u"), Status::unauthorized("a"),
        Status::internal("i"), Status::too_old("t")}) {
    Reply r;
    r.request_id = 3;
    r.status = status;
    EXPECT_EQ(round_trip(r).status, status);
  }
}

// A newer peer's error code must never read as success.
TEST(RoundTrip, UnknownErrorCodeBecomesInternal) {
  std::string body = MsgpackWriter()
                         .map(3)
                         .str("request_id")
                         .uint(5)
                         .str("error_code")
                         .uint(99)
                         .str("error_message")
                         .str("from the future")
                         .bytes();
  auto reply = decode_as<Reply>(body);
  ASSERT_TRUE(reply.is_ok()) << reply.status().to_string();
  EXPECT_EQ(reply->status.code(), ErrorCode::Internal);
  EXPECT_EQ(reply->status.message(), "from the future");
}

TEST(RoundTrip, StringsWithNulUnicodeAndLength) {
  Sync s;
  s.reason = std::string("nul\0byte", 8) + " \xc3\xa9t\xc3\xa9 \xf0\x9f\x90\xb3 \x01\x7f";
  EXPECT_EQ(round_trip(s), s);
  s.reason = std::string(70000, 'x');  // str32 on the wire
  EXPECT_EQ(round_trip(s), s);
  s.reason = std::string(300, 'y');  // str16
  EXPECT_EQ(round_trip(s), s);
  s.reason = "";
  EXPECT_EQ(round_trip(s), s);
}

TEST(RoundTrip, DoublesAreFloat64BitForBit) {
  for (double cpu :
       {0.0, -0.0, 2.0, 0.1, 1e-300, 1e300, 18446744073709551616.0, -9223372036854775808.0,
        std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
        std::numeric_limits<double>::quiet_NaN()}) {
    Capacity c{cpu, 1, 2, 3};
    Hello hello;
    hello.capacity = c;
    std::string body = encode_body(hello);
    // Always 0xcb: the bytes must not depend on whether the value happens to be integral.
    EXPECT_EQ(body.substr(locate(body, {std::string("capacity"), std::string("cpu")}), 1), "\xcb")
        << cpu;
    auto decoded = decode_as<Hello>(body);
    ASSERT_TRUE(decoded.is_ok());
    EXPECT_EQ(std::bit_cast<uint64_t>(decoded->capacity.cpu), std::bit_cast<uint64_t>(cpu)) << cpu;
  }
}

TEST(RoundTrip, IntegerAndFloat32AcceptedForDoubles) {
  std::string body = MsgpackWriter().map(1).str("cpu").uint(3).bytes();
  auto c = decode_as<protocol::Assign>(MsgpackWriter().map(1).str("task").raw(body).bytes());
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->task.cpu, 3.0);

  body = MsgpackWriter().map(1).str("cpu").sint(-2).bytes();
  c = decode_as<protocol::Assign>(MsgpackWriter().map(1).str("task").raw(body).bytes());
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->task.cpu, -2.0);

  // float32 0.5: ca 3f 00 00 00
  body = MsgpackWriter().map(1).str("cpu").raw(std::string_view("\xca\x3f\x00\x00\x00", 5)).bytes();
  c = decode_as<protocol::Assign>(MsgpackWriter().map(1).str("task").raw(body).bytes());
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->task.cpu, 0.5);
}

TEST(RoundTrip, LargeCollections) {
  Task t;
  for (int i = 0; i < 5000; ++i) {
    t.env.push_back("K" + std::to_string(i) + "=v");
    t.labels["label-" + std::to_string(i)] = std::to_string(i);
  }
  t.port_bindings["80/tcp"] = std::vector<PortBinding>(100, PortBinding{"0.0.0.0", "80"});
  EXPECT_EQ(round_trip(protocol::Assign{t}).task, t);

  Reply r;
  r.tasks = std::vector<Task>(1000, sample_task());
  r.events = std::vector<TaskEvent>(2000, TaskEvent{TaskState::Running, 5, "r", "n"});
  EXPECT_EQ(round_trip(r), r);
}

TEST(RoundTrip, DuplicateKeysLastOneWins) {
  std::string body =
      MsgpackWriter().map(2).str("free_slots").uint(1).str("free_slots").uint(7).bytes();
  auto credit = decode_as<Credit>(body);
  ASSERT_TRUE(credit.is_ok());
  EXPECT_EQ(credit->free_slots, 7u);
}

// docs/protocol.md: array 100,000, map 10,000, string 1 MiB. At the limit decodes, past it is
// Invalid (never an exception, never a crash).
TEST(UnpackLimits, ArrayOf100000IsTheMaximum) {
  Task t;
  t.cmd = std::vector<std::string>(100000, "x");
  auto ok = decode_as<protocol::Assign>(encode_body(protocol::Assign{t}));
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(ok->task.cmd.size(), 100000u);

  t.cmd.push_back("x");
  auto too_many = decode_as<protocol::Assign>(encode_body(protocol::Assign{t}));
  ASSERT_FALSE(too_many.is_ok());
  EXPECT_TRUE(too_many.status().is_invalid());
  EXPECT_NE(too_many.status().message().find("array size"), std::string::npos)
      << too_many.status().message();
}

TEST(UnpackLimits, MapOf10000IsTheMaximum) {
  Task t;
  for (int i = 0; i < 10000; ++i)
    t.labels[std::to_string(i)] = "v";
  auto ok = decode_as<protocol::Assign>(encode_body(protocol::Assign{t}));
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(ok->task.labels.size(), 10000u);

  t.labels["one more"] = "v";
  auto too_many = decode_as<protocol::Assign>(encode_body(protocol::Assign{t}));
  ASSERT_FALSE(too_many.is_ok());
  EXPECT_TRUE(too_many.status().is_invalid());
  EXPECT_NE(too_many.status().message().find("map size"), std::string::npos)
      << too_many.status().message();
}

TEST(UnpackLimits, StringOf1MiBIsTheMaximum) {
  Sync s{std::string(1 << 20, 'r')};
  auto ok = decode_as<Sync>(encode_body(s));
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_EQ(ok->reason.size(), size_t{1} << 20);

  s.reason.push_back('r');
  auto too_long = decode_as<Sync>(encode_body(s));
  ASSERT_FALSE(too_long.is_ok());
  EXPECT_TRUE(too_long.status().is_invalid());
  EXPECT_NE(too_long.status().message().find("str size"), std::string::npos)
      << too_long.status().message();
}

TEST(PeekRequestId, ReadsEveryRequestType) {
  EXPECT_EQ(protocol::peek_request_id(encode_body(sample<SubmitRequest>())), 7u);
  EXPECT_EQ(protocol::peek_request_id(encode_body(sample<ListRequest>())), 8u);
  EXPECT_EQ(protocol::peek_request_id(encode_body(sample<GetRequest>())), 9u);
  EXPECT_EQ(protocol::peek_request_id(encode_body(sample<StopRequest>())), 10u);
  EXPECT_EQ(protocol::peek_request_id(encode_body(sample<NodesRequest>())), 0x123456789au);
  EXPECT_EQ(protocol::peek_request_id(encode_body(sample<StatusRequest>())),
            std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(protocol::peek_request_id(encode_body(sample<Reply>())), 9u);
}

// The point of peek_request_id: a request whose other fields are broken still gets an error
// reply the client can match.
TEST(PeekRequestId, WorksWhenTheRestOfTheBodyIsInvalid) {
  std::string body =
      MsgpackWriter().map(2).str("task").str("not a task").str("request_id").uint(77).bytes();
  EXPECT_FALSE(decode_as<SubmitRequest>(body).is_ok());
  EXPECT_EQ(protocol::peek_request_id(body), 77u);
}

TEST(PeekRequestId, ZeroWhenAbsentOrUnreadable) {
  EXPECT_EQ(protocol::peek_request_id(""), 0u);
  EXPECT_EQ(protocol::peek_request_id(map_header(0)), 0u);
  EXPECT_EQ(protocol::peek_request_id(encode_body(sample<Welcome>())), 0u);
  EXPECT_EQ(protocol::peek_request_id(MsgpackWriter().array(1).uint(5).bytes()), 0u);
  EXPECT_EQ(protocol::peek_request_id(MsgpackWriter().map(1).str("request_id").sint(-5).bytes()),
            0u);
  EXPECT_EQ(protocol::peek_request_id(MsgpackWriter().map(1).str("request_id").str("5").bytes()),
            0u);
  // Only the top level counts.
  EXPECT_EQ(protocol::peek_request_id(
                MsgpackWriter().map(1).str("x").map(1).str("request_id").uint(5).bytes()),
            0u);
  // Every truncation of a request is garbage: 0, never a crash.
  std::string body = encode_body(sample<SubmitRequest>());
  for (size_t n = 0; n < body.size(); ++n)
    EXPECT_EQ(protocol::peek_request_id(body.substr(0, n)), 0u) << n;
}

TEST(MessageTypeName, NamesEveryTypeAndUnknown) {
  EXPECT_STREQ(protocol::message_type_name(1), "HELLO");
  EXPECT_STREQ(protocol::message_type_name(21), "TASK_STATE");
  EXPECT_STREQ(protocol::message_type_name(43), "STOP_TASK");
  EXPECT_STREQ(protocol::message_type_name(60), "REPLY");
  EXPECT_STREQ(protocol::message_type_name(0), "UNKNOWN");
  EXPECT_STREQ(protocol::message_type_name(255), "UNKNOWN");
}

}  // namespace
}  // namespace cube::test

namespace cube::test {
namespace {

// role, leader and standbys (docs/ha.md), nodes_by_state and store were added after STATUS's
// first release: a broker that leaves them empty sends the bytes it always sent, and one that
// sets them round-trips.
TEST(Codec, BrokerStatusKeysAddedAfterItsFirstReleaseAreLaterKeys) {
  protocol::Reply reply;
  reply.request_id = 7;
  reply.broker = sample_broker_status();
  std::string without = encode_body(reply);
  EXPECT_EQ(without.find("role"), std::string::npos);
  EXPECT_EQ(without.find("leader"), std::string::npos);
  EXPECT_EQ(without.find("standbys"), std::string::npos);
  EXPECT_EQ(without.find("nodes_by_state"), std::string::npos);
  EXPECT_EQ(without.find("store"), std::string::npos);
  reply.broker->role = "standby";
  reply.broker->leader = "10.0.0.1:7100";
  reply.broker->standbys = {"10.0.0.2:7100", "10.0.0.3:7100"};
  reply.broker->nodes_by_state = {{"ready", 3}, {"lost", 1}};
  reply.broker->store = "etcd://10.0.0.1:2379/cube";
  auto decoded = decode_as<protocol::Reply>(encode_body(reply));
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->broker, reply.broker);
}

// A service's previous template and rollout state came with rolling updates: a service never
// updated is sent as before, and one that was round-trips them.
TEST(Codec, ServiceRolloutKeysAreLaterKeys) {
  protocol::ServiceUpdateRequest request = sample<protocol::ServiceUpdateRequest>();
  std::string without = encode_body(request);
  for (const char* key : {"previous_template", "previous_template_version", "update_state",
                          "update_message", "update_started_ms", "update_completed_ms"})
    EXPECT_EQ(without.find(key), std::string::npos) << key;
  Service& s = request.service;
  s.previous_template = sample_task();
  s.previous_template.id.clear();
  s.previous_template_version = 2;
  s.update_state = "paused";
  s.update_message = "web.2 failed: exit code 3";
  s.update_started_ms = 1'700'000'000'000;
  s.update_completed_ms = 1'700'000'005'000;
  auto decoded = decode_as<protocol::ServiceUpdateRequest>(encode_body(request));
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, request);
}

}  // namespace
}  // namespace cube::test
