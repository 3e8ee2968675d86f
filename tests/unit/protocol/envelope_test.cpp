// The CUBE1 envelope: "CUBE1" | type (1 byte) | body after any routing frames.
#include "protocol/envelope.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cube::protocol {
namespace {

Result<EnvelopeView> parse(const std::vector<std::string_view>& frames) {
  return parse_envelope(frames);
}

void expect_invalid(const Result<EnvelopeView>& r, std::string_view needle) {
  ASSERT_FALSE(r.is_ok());
  EXPECT_TRUE(r.status().is_invalid()) << r.status().to_string();
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
}

TEST(Envelope, Cube1IsAccepted) {
  std::string body = "\x80";
  auto r = parse({"CUBE1", "\x03", body});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->type, 3);
  // The body is a view of the third frame, not a copy.
  EXPECT_EQ(r->body.data(), body.data());
  EXPECT_EQ(r->body.size(), 1u);
}

TEST(Envelope, EveryTypeByteAndAnEmptyBodyPassTheEnvelope) {
  // The envelope does not judge the type or the body: the dispatcher and decoder do.
  for (int t = 0; t < 256; ++t) {
    char type = static_cast<char>(t);
    auto r = parse({"CUBE1", std::string_view(&type, 1), ""});
    ASSERT_TRUE(r.is_ok()) << t;
    EXPECT_EQ(r->type, t);
    EXPECT_TRUE(r->body.empty());
  }
}

TEST(Envelope, OtherMajorVersionNamesBoth) {
  auto r = parse({"CUBE2", "\x01", "\x80"});
  expect_invalid(r, "CUBE2");
  EXPECT_NE(r.status().message().find("CUBE1"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message(),
            "protocol version CUBE2 is not supported: this peer speaks CUBE1");
  // Whatever the frame count: the version is checked first, so a CUBE2 peer with a different
  // envelope still learns why.
  expect_invalid(parse({"CUBE2"}), "CUBE2");
  expect_invalid(parse({"CUBE10", "\x01", "\x80", "extra"}), "CUBE10");
  expect_invalid(parse({"CUBE0", "\x01", "\x80"}), "this peer speaks CUBE1");
}

TEST(Envelope, GarbageFirstFrame) {
  for (std::string_view first :
       {std::string_view("GET / HTTP/1.1"), std::string_view(""), std::string_view("cube1"),
        std::string_view("CUBE"), std::string_view("\x00\x01\x02", 3),
        std::string_view("CUBE1-and-then-some-more-text")}) {
    auto r = parse({first, "\x01", "\x80"});
    if (first == "CUBE") {
      // "CUBE" alone reads as a (malformed) version name, which is still an answer.
      expect_invalid(r, "CUBE1");
      continue;
    }
    if (first.starts_with("CUBE1-")) {
      expect_invalid(r, "not a Cube message");
      continue;
    }
    expect_invalid(r, "not a Cube message (first frame is not CUBE1)");
  }
}

// The error text goes to logs and back to the peer: control bytes from a hostile first frame
// must not be echoed.
TEST(Envelope, ErrorNeverEchoesControlBytes) {
  std::string first = "CUBE\x1b[2J\n";
  auto r = parse({first, "\x01", "\x80"});
  expect_invalid(r, "not a Cube message");
  const std::string message = r.status().message();
  for (char c : message)
    EXPECT_GE(static_cast<unsigned char>(c), ' ') << message;
  expect_invalid(parse({std::string_view("CUBE\x00", 5), "\x01", "\x80"}), "not a Cube message");
}

TEST(Envelope, WrongFrameCount) {
  expect_invalid(parse({}), "empty message");
  expect_invalid(parse({"CUBE1"}), "expected 3 frames (CUBE1, type, body), got 1");
  expect_invalid(parse({"CUBE1", "\x01"}), "got 2");
  expect_invalid(parse({"CUBE1", "\x01", "\x80", "\x80"}), "got 4");
  // Routing frames are the caller's to strip: left in place, they are a garbage first frame.
  expect_invalid(parse({"peer-id", "CUBE1", "\x01", "\x80"}), "not a Cube message");
}

TEST(Envelope, TypeFrameMustBeOneByte) {
  expect_invalid(parse({"CUBE1", "", "\x80"}), "type frame must be exactly one byte");
  expect_invalid(parse({"CUBE1", "\x01\x02", "\x80"}), "type frame must be exactly one byte");
}

}  // namespace
}  // namespace cube::protocol
