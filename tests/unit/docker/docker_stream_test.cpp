// The multiplexed log stream demultiplexer (agent/drivers/docker/docker_stream.h): pure code,
// no dockerd.
#include "agent/drivers/docker/docker_stream.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tests/unit/docker/docker_stream_fuzz_check.h"

namespace cube::agent {
namespace {

std::string frame(uint8_t stream, std::string_view payload) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(stream);
  uint32_t n = static_cast<uint32_t>(payload.size());
  out[4] = static_cast<char>(n >> 24);
  out[5] = static_cast<char>(n >> 16);
  out[6] = static_cast<char>(n >> 8);
  out[7] = static_cast<char>(n);
  out.append(payload);
  return out;
}

struct Collected {
  std::string out, err, all;
  std::vector<std::pair<StreamKind, std::string>> pieces;
};

StreamDemuxer::Sink collect_into(Collected& c) {
  return [&c](StreamKind kind, std::string_view payload) {
    c.pieces.emplace_back(kind, std::string(payload));
    c.all.append(payload);
    (kind == StreamKind::Stderr ? c.err : c.out).append(payload);
  };
}

TEST(DockerStreamTest, SplitsStdoutAndStderrAndKeepsOrder) {
  std::string bytes = frame(1, "out 1\n") + frame(2, "err 1\n") + frame(1, "out 2\n");
  auto r = demux_stream(bytes);
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->stdout_data, "out 1\nout 2\n");
  EXPECT_EQ(r->stderr_data, "err 1\n");
  EXPECT_EQ(r->combined, "out 1\nerr 1\nout 2\n");
}

TEST(DockerStreamTest, FramesSplitAtEveryByteBoundaryGiveTheSameOutput) {
  const std::string bytes =
      frame(1, "hello ") + frame(2, "world\n") + frame(1, "") + frame(1, std::string(300, 'x'));
  for (size_t chunk = 1; chunk <= bytes.size(); ++chunk) {
    Collected c;
    StreamDemuxer demuxer(collect_into(c));
    for (size_t i = 0; i < bytes.size(); i += chunk)
      ASSERT_TRUE(demuxer.feed(std::string_view(bytes).substr(i, chunk)).is_ok()) << chunk;
    ASSERT_TRUE(demuxer.finish().is_ok()) << "chunk size " << chunk;
    EXPECT_EQ(c.out, "hello " + std::string(300, 'x')) << "chunk size " << chunk;
    EXPECT_EQ(c.err, "world\n") << "chunk size " << chunk;
    EXPECT_EQ(demuxer.payload_bytes(), 312);
  }
}

TEST(DockerStreamTest, EmptyFramesDeliverNothing) {
  Collected c;
  StreamDemuxer demuxer(collect_into(c));
  ASSERT_TRUE(demuxer.feed(frame(1, "") + frame(2, "")).is_ok());
  EXPECT_TRUE(demuxer.finish().is_ok());
  EXPECT_TRUE(c.pieces.empty());
}

TEST(DockerStreamTest, TruncatedHeaderIsReportedByFinish) {
  Collected c;
  StreamDemuxer demuxer(collect_into(c));
  std::string bytes = frame(1, "ok") + frame(2, "x").substr(0, 3);
  ASSERT_TRUE(demuxer.feed(bytes).is_ok());
  Status s = demuxer.finish();
  EXPECT_TRUE(s.is_invalid());
  EXPECT_NE(s.message().find("truncated frame header (3 of 8 bytes)"), std::string::npos)
      << s.message();
  EXPECT_EQ(c.out, "ok");
}

TEST(DockerStreamTest, TruncatedPayloadIsReportedByFinish) {
  auto r = demux_stream(frame(1, "abcdef").substr(0, 8 + 4));
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("2 payload bytes missing"), std::string::npos)
      << r.status().message();
}

TEST(DockerStreamTest, HugeDeclaredLengthIsRejectedAtOnceWithoutWaitingForIt) {
  std::string header = frame(1, "");
  header[4] = '\xff';  // 0xff000000 bytes: about 4 GiB declared
  Collected c;
  StreamDemuxer demuxer(collect_into(c));
  Status s = demuxer.feed(header + "tail");
  EXPECT_TRUE(s.is_invalid());
  EXPECT_NE(s.message().find("more than the limit"), std::string::npos) << s.message();
  // Sticky: later bytes are refused too and nothing is delivered.
  EXPECT_TRUE(demuxer.feed(frame(1, "more")).is_invalid());
  EXPECT_TRUE(demuxer.finish().is_invalid());
  EXPECT_TRUE(c.pieces.empty());
}

TEST(DockerStreamTest, LengthAtTheLimitIsAcceptedAndOneAboveIsNot) {
  EXPECT_TRUE(demux_stream(frame(1, std::string(16, 'a')), 16).is_ok());
  EXPECT_FALSE(demux_stream(frame(1, std::string(17, 'a')), 16).is_ok());
}

TEST(DockerStreamTest, UnknownStreamOrNonZeroPaddingIsInvalid) {
  std::string bad_stream = frame(3, "x");
  EXPECT_TRUE(demux_stream(bad_stream).status().is_invalid());
  std::string bad_padding = frame(1, "x");
  bad_padding[2] = 1;
  EXPECT_TRUE(demux_stream(bad_padding).status().is_invalid());
  // A TTY stream (plain text) is refused, not misread as frames.
  auto tty = demux_stream("hello world\n");
  EXPECT_TRUE(tty.status().is_invalid());
}

TEST(DockerStreamTest, StdinFramesGoToCombinedOnly) {
  auto r = demux_stream(frame(0, "in") + frame(1, "out"));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->combined, "inout");
  EXPECT_EQ(r->stdout_data, "out");
  EXPECT_EQ(r->stderr_data, "");
}

TEST(DockerStreamTest, EmptyStreamIsEmpty) {
  auto r = demux_stream("");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->combined, "");
}

// Fuzz-style, but deterministic (fixed seed): random mixes of valid frames and garbage must
// never crash and must give the same result however they are chunked.
TEST(DockerStreamTest, RandomInputsKeepTheFuzzInvariants) {
  std::mt19937 rng(20240501);
  for (int i = 0; i < 20000; ++i) {
    std::string input;
    int parts = static_cast<int>(rng() % 5);
    for (int p = 0; p < parts; ++p) {
      switch (rng() % 4) {
        case 0:
          input += frame(static_cast<uint8_t>(rng() % 3), std::string(rng() % 40, 'a'));
          break;
        case 1:
          input += frame(static_cast<uint8_t>(rng() % 3), std::string(rng() % 40, 'b'))
                       .substr(0, rng() % 20);
          break;
        default:
          for (int b = static_cast<int>(rng() % 12); b > 0; --b)
            input.push_back(static_cast<char>(rng()));
      }
    }
    std::string result = test::check_docker_stream_input(
        reinterpret_cast<const uint8_t*>(input.data()), input.size());
    ASSERT_EQ(result, "") << "input #" << i << " of " << input.size() << " bytes";
  }
}

}  // namespace
}  // namespace cube::agent
