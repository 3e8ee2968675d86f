// EtcdWatch: follows the changes under a key range through etcd's HTTP/JSON gateway
// (POST /v3/watch, etcd 3.4): one long HTTP answer in which the gateway writes one JSON object
// per line, each wrapped as {"result": {...}} (broker/etcd_messages.h parses them). It runs on
// the calling thread with a libcurl handle of its own (a watch holds its connection for as long
// as it runs, so it never shares the EtcdClient's).
//
// Members: the stream is opened on the member that served the last one, else on the next that
// accepts a connection (as EtcdClient does). A stream that breaks after it was open is not
// resumed here: run() returns and the caller starts again from the revision after the last
// one it saw (the next run starts on the next member).
//
// A member cut from its cluster keeps its streams open and silent; the caller must not take
// silence for being up to date (broker/standby_copy.h waits for a revision it knows exists).
//
// Thread-safety: one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/etcd_messages.h"
#include "common/clock.h"
#include "common/curl_handle.h"
#include "common/status.h"

namespace cube::broker {

class EtcdWatch {
 public:
  // `endpoints`: "HOST:PORT" of the members, at least one.
  explicit EtcdWatch(std::vector<std::string> endpoints, Millis connect_timeout = Millis(1000));

  // Watches [key, range_end) from `start_revision` (0: from now), handing each answer to
  // `on_answer` in stream order. Returns
  //   OK           `on_answer` returned false, or `should_stop` returned true (it is asked at
  //                least once a second, also while the stream is silent);
  //   Unavailable  no member accepted the connection (naming each), or the stream ended or
  //                broke, or etcd ended it with an error;
  //   Internal     a line of the stream is not the gateway's JSON.
  // A canceled watch (compaction) is an answer like any other: `on_answer` sees canceled and
  // compact_revision, and returns false. Blocks for as long as the stream runs.
  Status run(std::string_view key, std::string_view range_end, int64_t start_revision,
             const std::function<bool(EtcdWatchResponse& answer)>& on_answer,
             const std::function<bool()>& should_stop);

 private:
  std::vector<std::string> endpoints_;
  Millis connect_timeout_;
  size_t current_ = 0;
  CurlEasy curl_;
};

}  // namespace cube::broker
