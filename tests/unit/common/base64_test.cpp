#include "common/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace cube {
namespace {

// RFC 4648 section 10's test vectors.
TEST(Base64, EncodesTheRfcVectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64, DecodesTheRfcVectors) {
  for (std::string plain : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto decoded = base64_decode(base64_encode(plain));
    ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(Base64, RoundTripsEveryByteValue) {
  std::string all;
  for (int i = 0; i < 256; ++i)
    all += static_cast<char>(i);
  EXPECT_EQ(base64_encode(all).substr(0, 8), "AAECAwQF");
  for (size_t len = 0; len <= all.size(); len += 37) {
    auto decoded = base64_decode(base64_encode(all.substr(0, len)));
    ASSERT_TRUE(decoded.is_ok());
    EXPECT_EQ(*decoded, all.substr(0, len));
  }
  EXPECT_EQ(*base64_decode("+/+/"), "\xfb\xff\xbf");
}

TEST(Base64, RejectsMalformedInputNamingWhere) {
  auto short_input = base64_decode("Zm9");
  ASSERT_FALSE(short_input.is_ok());
  EXPECT_TRUE(short_input.status().is_invalid());
  EXPECT_NE(short_input.status().message().find("length 3"), std::string::npos);

  auto bad_char = base64_decode("Zm9v*mFy");
  ASSERT_FALSE(bad_char.is_ok());
  EXPECT_NE(bad_char.status().message().find("offset 4"), std::string::npos);

  EXPECT_FALSE(base64_decode("Zg=v").is_ok());      // '=' before the end
  EXPECT_FALSE(base64_decode("Z===").is_ok());      // three padding characters
  EXPECT_FALSE(base64_decode("Zg==Zm9v").is_ok());  // padding in the middle
  EXPECT_FALSE(base64_decode("Zm9v-_").is_ok());    // the URL-safe alphabet is not base64
}

}  // namespace
}  // namespace cube
