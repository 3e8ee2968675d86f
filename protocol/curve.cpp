#include "protocol/curve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include <zmq.h>

#include "common/unique_fd.h"

namespace cube::protocol {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Splits a line into whitespace-separated words, dropping a comment: '#' starts one at the
// beginning of a word, except in the first word when that is a key ('#' is a Z85 digit).
std::vector<std::string> words(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i]))
      ++i;
    if (i >= line.size())
      break;
    size_t start = i;
    while (i < line.size() && !is_space(line[i]))
      ++i;
    std::string_view word = line.substr(start, i - start);
    if (word.front() == '#' && !(out.empty() && is_z85_key(word)))
      break;
    out.emplace_back(word);
  }
  return out;
}

Result<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::unavailable("cannot read " + path.string() + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The first word of the first non-comment line of a file.
Result<std::string> first_word(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text.is_ok())
    return text.status();
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    auto w = words(line);
    if (!w.empty())
      return w.front();
  }
  return std::string();
}

Status write_new_file(const std::filesystem::path& path, const std::string& content, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd.valid()) {
    if (errno == EEXIST)
      return Status::conflict(path.string() + " already exists; keys are never overwritten");
    return Status::unavailable("cannot create " + path.string() + ": " + std::strerror(errno));
  }
  // The umask may have cleared bits of `mode`; the secret file must be exactly 0600.
  ::fchmod(fd.get(), mode);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return Status::unavailable("cannot write " + path.string() + ": " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

}  // namespace

bool is_z85_key(std::string_view text) {
  if (text.size() != kCurveKeyChars)
    return false;
  std::string copy(text);
  std::array<uint8_t, 32> raw{};
  return zmq_z85_decode(raw.data(), copy.c_str()) != nullptr;
}

Result<CurveKeyPair> generate_curve_keypair() {
  std::array<char, kCurveKeyChars + 1> pub{};
  std::array<char, kCurveKeyChars + 1> sec{};
  if (zmq_curve_keypair(pub.data(), sec.data()) != 0) {
    return Status::unavailable(std::string("cannot generate a CURVE key pair: ") +
                               zmq_strerror(zmq_errno()) +
                               " (libzmq built without CURVE support?)");
  }
  return CurveKeyPair{std::string(pub.data()), std::string(sec.data())};
}

Result<std::string> curve_public_key(std::string_view secret) {
  if (!is_z85_key(secret))
    return Status::invalid("not a CURVE secret key (expected 40 characters of Z85 text)");
  std::string copy(secret);
  std::array<char, kCurveKeyChars + 1> pub{};
  if (zmq_curve_public(pub.data(), copy.c_str()) != 0) {
    return Status::invalid(std::string("cannot derive the public key: ") +
                           zmq_strerror(zmq_errno()));
  }
  return std::string(pub.data());
}

Status write_curve_keypair(const std::filesystem::path& dir, std::string_view name,
                           const CurveKeyPair& keys) {
  if (name.empty() || name.find('/') != std::string_view::npos ||
      std::any_of(name.begin(), name.end(), [](char c) { return is_space(c) || c == '#'; })) {
    return Status::invalid("key name \"" + std::string(name) +
                           "\" must be non-empty, without '/', '#' or spaces");
  }
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec)
      return Status::unavailable("cannot create " + dir.string() + ": " + ec.message());
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  }
  std::filesystem::path secret = dir / (std::string(name) + ".key");
  std::filesystem::path pub = dir / (std::string(name) + ".pub");
  if (std::filesystem::exists(pub, ec))
    return Status::conflict(pub.string() + " already exists; keys are never overwritten");
  CUBE_RETURN_IF_ERROR(write_new_file(
      secret,
      keys.secret_key + "\n# CURVE secret key of \"" + std::string(name) + "\"; keep it private\n",
      0600));
  return write_new_file(pub, keys.public_key + " " + std::string(name) + "\n", 0644);
}

Result<CurveKeyPair> load_curve_secret(const std::filesystem::path& path) {
  auto word = first_word(path);
  if (!word.is_ok())
    return word.status();
  auto pub = curve_public_key(*word);
  if (!pub.is_ok()) {
    return Status::invalid(path.string() +
                           " does not hold a CURVE secret key (make one with `keygen --out DIR`)");
  }
  return CurveKeyPair{*pub, *word};
}

Result<std::string> load_curve_public(std::string_view key_or_file) {
  if (is_z85_key(key_or_file))
    return std::string(key_or_file);
  std::error_code ec;
  std::filesystem::path path{std::string(key_or_file)};
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::invalid("\"" + std::string(key_or_file) +
                           "\" is neither a Z85 public key (40 characters) nor a key file");
  }
  auto word = first_word(path);
  if (!word.is_ok())
    return word.status();
  if (!is_z85_key(*word))
    return Status::invalid(path.string() + " does not start with a Z85 public key");
  return *word;
}

Result<std::vector<AuthorizedKey>> parse_authorized_keys(std::string_view text,
                                                         std::string_view source) {
  std::vector<AuthorizedKey> keys;
  std::set<std::string> seen_keys;
  std::set<std::string> seen_names;
  std::istringstream lines{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    auto w = words(line);
    if (w.empty())
      continue;
    std::string where = std::string(source) + ":" + std::to_string(number) + ": ";
    if (!is_z85_key(w[0]))
      return Status::invalid(where + "\"" + w[0] + "\" is not a Z85 public key (40 characters)");
    if (w.size() < 2)
      return Status::invalid(where + "the key has no name (expected \"KEY NAME # comment\")");
    if (w.size() > 2)
      return Status::invalid(where + "names have no spaces; put remarks after '#'");
    if (!seen_keys.insert(w[0]).second)
      return Status::invalid(where + "key listed twice");
    if (!seen_names.insert(w[1]).second)
      return Status::invalid(where + "name \"" + w[1] + "\" already belongs to another key");
    keys.push_back({w[0], w[1]});
  }
  return keys;
}

Result<std::vector<AuthorizedKey>> load_authorized_keys(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text.is_ok())
    return text.status();
  return parse_authorized_keys(*text, path.string());
}

Status apply_curve_client(zmq::socket_t& socket, const CurveClientKeys& keys) {
  if (!keys.enabled())
    return Status::ok();
  try {
    socket.set(zmq::sockopt::curve_serverkey, keys.server_key);
    socket.set(zmq::sockopt::curve_publickey, keys.own.public_key);
    socket.set(zmq::sockopt::curve_secretkey, keys.own.secret_key);
  } catch (const zmq::error_t& e) {
    return Status::internal(std::string("cannot set CURVE keys: ") + e.what());
  }
  return Status::ok();
}

Status apply_curve_server(zmq::socket_t& socket, const std::string& secret,
                          std::string_view domain) {
  try {
    socket.set(zmq::sockopt::curve_server, 1);
    socket.set(zmq::sockopt::curve_secretkey, secret);
    socket.set(zmq::sockopt::zap_domain, std::string(domain));
  } catch (const zmq::error_t& e) {
    return Status::internal(std::string("cannot make the socket a CURVE server: ") + e.what());
  }
  return Status::ok();
}

Result<CurveClientKeys> curve_client_keys(std::string_view secret_file, std::string_view broker_key,
                                          std::string_view env_broker_key) {
  std::string_view server = broker_key.empty() ? env_broker_key : broker_key;
  if (secret_file.empty() && server.empty())
    return CurveClientKeys{};
  if (secret_file.empty()) {
    return Status::invalid(
        "--broker-key needs --curve-secret FILE too (make a key pair with `keygen --out DIR`)");
  }
  if (server.empty()) {
    return Status::invalid(
        "--curve-secret needs the broker's public key: --broker-key KEY|FILE or CUBE_BROKER_KEY");
  }
  CurveClientKeys keys;
  auto own = load_curve_secret(std::filesystem::path(std::string(secret_file)));
  if (!own.is_ok())
    return own.status().with_context("--curve-secret");
  keys.own = *own;
  auto server_key = load_curve_public(server);
  if (!server_key.is_ok())
    return server_key.status().with_context("--broker-key");
  keys.server_key = *server_key;
  return keys;
}

}  // namespace cube::protocol
