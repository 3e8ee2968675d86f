// The field tables (protocol/wire_fields.h) are the one description of each struct's keys: these
// tests check what the codec, the task JSON and the docs rely on them for.
#include "protocol/wire_fields.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/codec.h"
#include "protocol/task_json.h"

namespace cube::protocol {
namespace {

Task full_task() {
  Task t;
  t.id = "0190a3c4-5f1e-7c2a-9b3d-2f4e6a8c0d12";
  t.name = "web";
  t.image = "nginx:1.25";
  t.cmd = {"nginx"};
  t.memory_bytes = 64 << 20;
  t.labels = {{"team", "web"}};
  t.state = TaskState::Running;
  t.attempt = 3;
  t.node_id = "node-id";
  t.exit_code = 0;
  t.reason = "running";
  t.health_retries = 2;
  t.service = "web";
  t.slot = 2;
  t.service_version = 3;
  return t;
}

TEST(WireFields, TaskKeysAndJsonNamesAreUnique) {
  std::set<std::string_view> keys;
  std::set<std::string_view> json;
  for_each_field<Task>([&](const auto& f) {
    EXPECT_TRUE(keys.insert(f.key).second) << f.key;
    EXPECT_TRUE(json.insert(f.json).second) << f.json;
  });
  EXPECT_EQ(keys.size(), kFieldCount<Task>);
}

// docs/protocol.md's "Task map keys" is what people read: it lists the table's keys in order.
TEST(WireFields, TheProtocolDocListsEveryTaskKeyInWireOrder) {
  std::ifstream doc(std::string(CUBE_GOLDEN_DIR) + "/../../docs/protocol.md");
  ASSERT_TRUE(doc) << "docs/protocol.md not found";
  std::stringstream text;
  text << doc.rdbuf();
  std::string all = text.str();
  size_t section = all.find("## Task map keys");
  ASSERT_NE(section, std::string::npos);
  size_t from = section;
  for_each_field<Task>([&](const auto& f) {
    size_t at = all.find(std::string(f.key), from);
    EXPECT_NE(at, std::string::npos) << f.key << " missing or out of order";
    if (at != std::string::npos)
      from = at + f.key.size();
  });
}

// The table's roles follow the struct each member is in.
TEST(WireFields, EverySpecFieldIsInTaskSpecAndEveryStatusFieldInTaskStatus) {
  Task in = full_task();
  Task spec;
  static_cast<TaskSpec&>(spec) = in;
  for_each_field<Task>([&](const auto& f) {
    bool copied = spec.*f.member == in.*f.member;
    bool is_default = spec.*f.member == Task{}.*f.member;
    if (f.role == FieldRole::Spec)
      EXPECT_TRUE(copied) << f.key;
    else
      EXPECT_TRUE(is_default) << f.key;
  });
  EXPECT_EQ(spec.id, in.id);
  EXPECT_EQ(spec.image, in.image);
  EXPECT_EQ(spec.labels, in.labels);
  EXPECT_EQ(spec.health_retries, 2);
  EXPECT_EQ(spec.state, TaskState::Pending);
  EXPECT_EQ(spec.attempt, 0u);
  EXPECT_EQ(spec.node_id, "");
  EXPECT_FALSE(spec.exit_code.has_value());
}

TEST(WireFields, TheCompactFormDecodesToTheSameTaskInFewerBytes) {
  Task in = full_task();
  std::string compact = encode_task_compact(in);
  EXPECT_LT(compact.size(), encode_task(in).size() / 2);
  Task out;
  ASSERT_TRUE(decode_task(compact, out).is_ok());
  EXPECT_EQ(out, in);
  EXPECT_EQ(peek_task_id(compact), in.id);
  EXPECT_EQ(peek_task_id(encode_task(in)), in.id);
  // exit code 0 is set (not the default nil), so it is kept.
  EXPECT_NE(compact.find("exit_code"), std::string::npos);
  EXPECT_EQ(peek_task_id(encode_task_compact(Task{})), "");
}

// Every status field is known on JSON input and ignored, so `get -o json` output can be sent back.
TEST(WireFields, TaskJsonOutputIsAcceptedAsInputAndKeepsOnlyTheSpec) {
  Task in = full_task();
  auto parsed = task_from_json(task_to_json(in));
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  Task expected;
  static_cast<TaskSpec&>(expected) = in;
  expected.desired_state = TaskState::Running;
  EXPECT_EQ(*parsed, expected);
}

}  // namespace
}  // namespace cube::protocol
