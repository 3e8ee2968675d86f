#include "gateway/bearer_auth.h"

#include <sys/stat.h>

#include <cctype>
#include <fstream>
#include <sstream>

namespace cube::gateway {
namespace {

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

}  // namespace

Result<std::string> read_token_file(const std::string& path, bool* world_readable) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::invalid("cannot read the token file " + path);
  std::ostringstream content;
  content << in.rdbuf();
  std::string token = content.str();
  while (!token.empty() && is_space(token.back()))
    token.pop_back();
  size_t start = 0;
  while (start < token.size() && is_space(token[start]))
    ++start;
  token.erase(0, start);
  if (token.empty())
    return Status::invalid("the token file " + path + " is empty");
  for (char c : token) {
    auto u = static_cast<unsigned char>(c);
    if (is_space(c) || u < 0x20 || u == 0x7f) {
      return Status::invalid("the token in " + path +
                             " contains whitespace or control characters; put one token on "
                             "one line");
    }
  }
  if (token.size() < kMinTokenBytes) {
    return Status::invalid("the token in " + path + " is " + std::to_string(token.size()) +
                           " bytes; use at least " + std::to_string(kMinTokenBytes) +
                           " (e.g. `openssl rand -hex 32`)");
  }
  if (world_readable != nullptr) {
    struct stat st {};
    *world_readable = ::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH) != 0;
  }
  return token;
}

bool bearer_matches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() < kScheme.size())
    return false;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i])
      return false;
  }
  std::string_view given = authorization.substr(kScheme.size());
  // Constant time over the expected token: every byte is compared whatever the length given.
  unsigned char diff = given.size() == token.size() ? 0 : 1;
  for (size_t i = 0; i < token.size(); ++i) {
    unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(token[i]));
  }
  return diff == 0;
}

}  // namespace cube::gateway
