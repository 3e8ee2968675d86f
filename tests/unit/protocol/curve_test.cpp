#include "protocol/curve.h"

#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace cube::protocol {
namespace {

TEST(CurveTest, GeneratedKeysAreZ85AndThePublicKeyDerivesFromTheSecret) {
  auto keys = generate_curve_keypair();
  ASSERT_TRUE(keys.is_ok()) << keys.status().to_string();
  EXPECT_TRUE(is_z85_key(keys->public_key));
  EXPECT_TRUE(is_z85_key(keys->secret_key));
  EXPECT_NE(keys->public_key, keys->secret_key);
  auto derived = curve_public_key(keys->secret_key);
  ASSERT_TRUE(derived.is_ok());
  EXPECT_EQ(*derived, keys->public_key);
}

TEST(CurveTest, IsZ85KeyRejectsWrongLengthAndAlphabet) {
  EXPECT_FALSE(is_z85_key(""));
  EXPECT_FALSE(is_z85_key(std::string(39, 'a')));
  EXPECT_TRUE(is_z85_key(std::string(40, 'a')));
  EXPECT_FALSE(is_z85_key(std::string(39, 'a') + "~"));  // '~' is not a Z85 digit
  EXPECT_FALSE(curve_public_key("short").is_ok());
}

TEST(CurveTest, WriteAndLoadKeyPairWithSecretMode0600) {
  test::TempDir dir;
  auto keys = generate_curve_keypair();
  ASSERT_TRUE(keys.is_ok());
  ASSERT_TRUE(write_curve_keypair(dir / "keys", "agent-1", *keys).is_ok());
  struct stat st {};
  ASSERT_EQ(::stat((dir / "keys" / "agent-1.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = load_curve_secret(dir / "keys" / "agent-1.key");
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->secret_key, keys->secret_key);
  EXPECT_EQ(loaded->public_key, keys->public_key);
  auto pub = load_curve_public((dir / "keys" / "agent-1.pub").string());
  ASSERT_TRUE(pub.is_ok());
  EXPECT_EQ(*pub, keys->public_key);
  // The .pub line is a valid authorized-keys line.
  auto listed = load_authorized_keys(dir / "keys" / "agent-1.pub");
  ASSERT_TRUE(listed.is_ok()) << listed.status().to_string();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name, "agent-1");
  // Never overwritten.
  Status again = write_curve_keypair(dir / "keys", "agent-1", *keys);
  EXPECT_EQ(again.code(), ErrorCode::Conflict);
  EXPECT_EQ(write_curve_keypair(dir / "keys", "a b", *keys).code(), ErrorCode::Invalid);
  EXPECT_EQ(write_curve_keypair(dir / "keys", "../x", *keys).code(), ErrorCode::Invalid);
}

TEST(CurveTest, LoadPublicAcceptsTextAndRejectsGarbage) {
  auto keys = generate_curve_keypair();
  ASSERT_TRUE(keys.is_ok());
  auto text = load_curve_public(keys->public_key);
  ASSERT_TRUE(text.is_ok());
  EXPECT_EQ(*text, keys->public_key);
  auto bad = load_curve_public("/nonexistent/broker.pub");
  EXPECT_EQ(bad.status().code(), ErrorCode::Invalid);
  EXPECT_NE(bad.status().message().find("neither a Z85 public key"), std::string::npos);
}

TEST(CurveTest, SecretFileNotAKeyIsInvalidNamingTheFile) {
  test::TempDir dir;
  std::ofstream(dir / "bad.key") << "hello\n";
  auto loaded = load_curve_secret(dir / "bad.key");
  EXPECT_EQ(loaded.status().code(), ErrorCode::Invalid);
  EXPECT_NE(loaded.status().message().find("bad.key"), std::string::npos);
  EXPECT_EQ(load_curve_secret(dir / "missing.key").status().code(), ErrorCode::Unavailable);
}

TEST(CurveTest, ParseAuthorizedKeys) {
  // '#' is a Z85 digit, so keys may hold it; a comment is a word that starts with '#'.
  std::string k1(40, 'a');
  std::string k2 = "bb#" + std::string(37, 'b');
  std::string text =
      "# agents of the build farm\n\n  " + k1 + " web-1   # rack 3\n" + k2 + " web-2\n";
  auto keys = parse_authorized_keys(text, "agents.keys");
  ASSERT_TRUE(keys.is_ok()) << keys.status().to_string();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].public_key, k1);
  EXPECT_EQ((*keys)[0].name, "web-1");
  EXPECT_EQ((*keys)[1].public_key, k2);
  EXPECT_EQ((*keys)[1].name, "web-2");
}

TEST(CurveTest, ParseAuthorizedKeysErrorsNameTheLine) {
  std::string k1(40, 'a');
  std::string k2(40, 'c');
  struct Case {
    std::string text;
    std::string expected;
  };
  for (const auto& c : std::vector<Case>{
           {"notakey web\n", "f:1: \"notakey\" is not a Z85 public key"},
           {"\n" + k1 + "\n", "f:2: the key has no name"},
           {k1 + " a\n" + k1 + " b\n", "f:2: key listed twice"},
           {k1 + " a\n" + k2 + " a\n", "f:2: name \"a\" already belongs to another key"},
           {k1 + " a b\n", "f:1: names have no spaces"},
       }) {
    auto keys = parse_authorized_keys(c.text, "f");
    ASSERT_FALSE(keys.is_ok()) << c.text;
    EXPECT_EQ(keys.status().code(), ErrorCode::Invalid);
    EXPECT_NE(keys.status().message().find(c.expected), std::string::npos)
        << keys.status().message();
  }
  EXPECT_TRUE(parse_authorized_keys("", "f").is_ok());
}

TEST(CurveTest, ClientKeysNeedBothHalves) {
  test::TempDir dir;
  auto keys = generate_curve_keypair();
  ASSERT_TRUE(keys.is_ok());
  ASSERT_TRUE(write_curve_keypair(dir.path(), "c", *keys).is_ok());
  std::string secret = (dir / "c.key").string();

  auto none = curve_client_keys("", "", "");
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none->enabled());
  EXPECT_EQ(curve_client_keys(secret, "", "").status().code(), ErrorCode::Invalid);
  EXPECT_EQ(curve_client_keys("", keys->public_key, "").status().code(), ErrorCode::Invalid);
  // The environment is the fallback for --broker-key.
  auto from_env = curve_client_keys(secret, "", keys->public_key);
  ASSERT_TRUE(from_env.is_ok()) << from_env.status().to_string();
  EXPECT_TRUE(from_env->enabled());
  EXPECT_EQ(from_env->server_key, keys->public_key);
  EXPECT_EQ(from_env->own.secret_key, keys->secret_key);
}

}  // namespace
}  // namespace cube::protocol
