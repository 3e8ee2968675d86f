// The bodies of the fuzz targets, shared by the libFuzzer binaries (codec_fuzz.cpp,
// task_json_fuzz.cpp) and the gtest corpus replay (tests/unit/protocol/corpus_replay_test.cpp),
// so that the normal test run, under ASan/UBSan when CUBE_SANITIZE=ON, exercises the same code
// on every corpus file.
//
// Each function returns "" when every invariant held, or what broke. A crash, a sanitizer
// report or a hang is a failure too; the fuzzers turn a non-empty result into an abort.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/codec.h"
#include "protocol/envelope.h"
#include "protocol/messages.h"
#include "protocol/task_json.h"
#include "protocol/task_validation.h"

namespace cube::fuzz {

// Request bodies whose request_id peek_request_id must agree with.
template <typename M>
concept HasRequestId = requires(M m) {
  m.request_id;
};

// A decode failure must be Invalid with a message. A body that decodes must re-encode to bytes
// that decode again and encode to the same bytes (encode/decode agree on every key).
template <typename M>
std::string check_message(std::string_view body) {
  M first;
  Status status = protocol::decode_body(body, first);
  if (!status.is_ok()) {
    if (!status.is_invalid())
      return "decode failed with " + status.to_string() + " instead of invalid";
    if (status.message().empty())
      return "decode failed without a message";
    return {};
  }
  if constexpr (HasRequestId<M>) {
    if (protocol::peek_request_id(body) != first.request_id)
      return "peek_request_id disagrees with the decoded request_id";
  }
  std::string once = protocol::encode_body(first);
  M second;
  Status again = protocol::decode_body(once, second);
  if (!again.is_ok())
    return "a re-encoded body does not decode: " + again.to_string();
  if (protocol::encode_body(second) != once)
    return "encode(decode(encode(x))) differs from encode(x)";
  return {};
}

// Decodes `body` as message `type`; unknown types only go through peek_request_id.
inline std::string check_decode(uint8_t type, std::string_view body) {
  using protocol::MessageType;
  (void)protocol::peek_request_id(body);
  switch (static_cast<MessageType>(type)) {
    case MessageType::Hello:
      return check_message<protocol::Hello>(body);
    case MessageType::Welcome:
      return check_message<protocol::Welcome>(body);
    case MessageType::Credit:
      return check_message<protocol::Credit>(body);
    case MessageType::Assign:
      return check_message<protocol::Assign>(body);
    case MessageType::Accept:
      return check_message<protocol::Accept>(body);
    case MessageType::Reject:
      return check_message<protocol::Reject>(body);
    case MessageType::Stop:
      return check_message<protocol::Stop>(body);
    case MessageType::Sync:
      return check_message<protocol::Sync>(body);
    case MessageType::Snapshot:
      return check_message<protocol::Snapshot>(body);
    case MessageType::Error:
      return check_message<protocol::ErrorMessage>(body);
    case MessageType::LogsFetch:
      return check_message<protocol::LogsFetch>(body);
    case MessageType::LogsData:
      return check_message<protocol::LogsData>(body);
    case MessageType::AssignBatch:
      return check_message<protocol::AssignBatch>(body);
    case MessageType::AcceptBatch:
      return check_message<protocol::AcceptBatch>(body);
    case MessageType::AgentHeartbeat:
      return check_message<protocol::AgentHeartbeat>(body);
    case MessageType::TaskStateEvent:
      return check_message<protocol::TaskStateEvent>(body);
    case MessageType::NodeStats:
      return check_message<protocol::NodeStats>(body);
    case MessageType::TaskStateBatch:
      return check_message<protocol::TaskStateBatch>(body);
    case MessageType::Beacon:
      return check_message<protocol::Beacon>(body);
    case MessageType::SubmitRequest:
      return check_message<protocol::SubmitRequest>(body);
    case MessageType::ListRequest:
      return check_message<protocol::ListRequest>(body);
    case MessageType::GetRequest:
      return check_message<protocol::GetRequest>(body);
    case MessageType::StopRequest:
      return check_message<protocol::StopRequest>(body);
    case MessageType::NodesRequest:
      return check_message<protocol::NodesRequest>(body);
    case MessageType::StatusRequest:
      return check_message<protocol::StatusRequest>(body);
    case MessageType::LogsRequest:
      return check_message<protocol::LogsRequest>(body);
    case MessageType::SubmitBatchRequest:
      return check_message<protocol::SubmitBatchRequest>(body);
    case MessageType::ServiceCreateRequest:
      return check_message<protocol::ServiceCreateRequest>(body);
    case MessageType::ServiceListRequest:
      return check_message<protocol::ServiceListRequest>(body);
    case MessageType::ServiceInspectRequest:
      return check_message<protocol::ServiceInspectRequest>(body);
    case MessageType::ServiceScaleRequest:
      return check_message<protocol::ServiceScaleRequest>(body);
    case MessageType::ServiceRemoveRequest:
      return check_message<protocol::ServiceRemoveRequest>(body);
    case MessageType::ServiceUpdateRequest:
      return check_message<protocol::ServiceUpdateRequest>(body);
    case MessageType::ServiceRollbackRequest:
      return check_message<protocol::ServiceRollbackRequest>(body);
    case MessageType::ServiceRestartRequest:
      return check_message<protocol::ServiceRestartRequest>(body);
    case MessageType::EventsRequest:
      return check_message<protocol::EventsRequest>(body);
    case MessageType::Reply:
      return check_message<protocol::Reply>(body);
  }
  return {};
}

// parse_envelope over frames cut from `data`: each frame is one length byte and then up to that
// many bytes. Checks that exactly the well-formed CUBE1 envelopes are accepted, that errors
// are printable, and decodes the body of an accepted one.
inline std::string check_envelope(std::string_view data) {
  std::vector<std::string_view> frames;
  size_t at = 0;
  // A valid message has at most 2 routing frames and 3 envelope frames; a few more covers the
  // frame-count errors.
  while (at < data.size() && frames.size() < 8) {
    size_t length = static_cast<uint8_t>(data[at++]);
    length = std::min(length, data.size() - at);
    frames.push_back(data.substr(at, length));
    at += length;
  }
  bool well_formed = frames.size() == 3 && frames[0] == protocol::kMagic && frames[1].size() == 1;
  auto parsed = protocol::parse_envelope(frames);
  if (!parsed.is_ok()) {
    Status error = parsed.status();
    if (well_formed)
      return "a well-formed envelope was refused: " + error.to_string();
    if (!error.is_invalid() || error.message().empty())
      return "envelope error is not invalid with a message: " + error.to_string();
    for (char c : error.message()) {
      if (static_cast<unsigned char>(c) < ' ' || c == 0x7f)
        return "envelope error message holds a control byte";
    }
    return {};
  }
  if (!well_formed)
    return "a malformed envelope was accepted";
  if (parsed->body.data() != frames[2].data() || parsed->body.size() != frames[2].size())
    return "envelope body does not point at the third frame";
  return check_decode(parsed->type, parsed->body);
}

// The codec target: data[0] is a message type and the rest its body; then the same bytes go
// through parse_envelope split into frames.
inline std::string check_codec_input(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (bytes.empty())
    return {};
  std::string result = check_decode(static_cast<uint8_t>(bytes[0]), bytes.substr(1));
  if (!result.empty())
    return result;
  return check_envelope(bytes);
}

// Exposed ports are a set in the JSON object form; compare them as one.
inline std::vector<std::string> as_set(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// The task_json target: parse; a parsed task must survive validation (any verdict) and
// task_to_json -> text -> task_from_json_text with its spec fields unchanged.
inline std::string check_task_json_input(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = task_from_json_text(text);
  if (!parsed.is_ok()) {
    if (!parsed.status().is_invalid() || parsed.status().message().empty())
      return "parse error is not invalid with a message: " + parsed.status().to_string();
    return {};
  }
  const Task& first = *parsed;
  (void)validate_task_spec(first);
  std::string printed =
      task_to_json(first).dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
  auto again = task_from_json_text(printed);
  if (!again.is_ok())
    return "task_to_json output does not parse back: " + again.status().to_string();
  const Task& second = *again;
  if (first.id != second.id || first.name != second.name || first.image != second.image ||
      first.cmd != second.cmd || first.env != second.env || first.cpu != second.cpu ||
      first.memory_bytes != second.memory_bytes || first.disk_bytes != second.disk_bytes ||
      as_set(first.exposed_ports) != as_set(second.exposed_ports) ||
      first.restart_policy != second.restart_policy || first.health_check != second.health_check ||
      first.driver != second.driver || first.constraints != second.constraints ||
      first.labels != second.labels ||
      std::max<int64_t>(first.duration_ms, 0) != second.duration_ms) {
    return "task_to_json -> task_from_json changed a spec field: " + printed;
  }
  return {};
}

}  // namespace cube::fuzz
