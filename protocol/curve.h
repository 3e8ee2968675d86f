// CURVE keys for Cube's encrypted, authenticated transport (ZeroMQ CurveZMQ): generating key
// pairs, reading them from files or the command line, parsing authorized-keys files, and
// configuring sockets. Keys are always Z85 text (40 characters for 32 bytes), as zmq_curve_keypair
// writes them, so a key can be pasted into a flag, an environment variable or a file.
//
// Files (written by `cube-broker|cube-agent|cube-client keygen --out DIR`):
//   DIR/<name>.key  the secret key, one line, mode 0600
//   DIR/<name>.pub  the public key, one line, then " <name>" so it can be appended as-is to an
//                   authorized-keys file
// An authorized-keys file lists one "Z85KEY name [# comment]" per line; blank lines and lines
// starting with '#' are ignored (like OpenSSH's authorized_keys).
//
// Thread-safety: every function is pure or touches only its arguments and the named files; call
// from any thread. Nothing blocks except the file reads/writes.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "common/status.h"

namespace cube::protocol {

// Length of a Z85-encoded CURVE key.
inline constexpr size_t kCurveKeyChars = 40;

// The ZAP domains the broker gives its sockets: the client ROUTER admits client keys, the work
// ROUTER, events SUB and beacon PUB admit agent keys.
inline constexpr std::string_view kZapDomainClients = "clients";
inline constexpr std::string_view kZapDomainAgents = "agents";

struct CurveKeyPair {
  std::string public_key;  // Z85
  std::string secret_key;  // Z85
};

// True when `text` is 40 characters of the Z85 alphabet that decode to 32 bytes. Pure.
bool is_z85_key(std::string_view text);

// A fresh random key pair (zmq_curve_keypair). Unavailable when libzmq was built without CURVE
// (libsodium).
Result<CurveKeyPair> generate_curve_keypair();

// The public key belonging to a Z85 secret key (zmq_curve_public). Invalid when `secret` is
// not a Z85 key.
Result<std::string> curve_public_key(std::string_view secret);

// Writes `keys` to dir/<name>.key (mode 0600, created exclusively) and dir/<name>.pub
// (mode 0644); `dir` is created (0700) if missing. Conflict when either file exists (keys are
// never overwritten silently); Invalid when `name` is empty or holds '/' or whitespace;
// Unavailable when the files cannot be written.
Status write_curve_keypair(const std::filesystem::path& dir, std::string_view name,
                           const CurveKeyPair& keys);

// A secret key file written by write_curve_keypair (first non-comment word of the file),
// with its public key derived. Unavailable when the file cannot be read; Invalid, naming the
// file, when it does not hold a Z85 key.
Result<CurveKeyPair> load_curve_secret(const std::filesystem::path& path);

// A public key given as Z85 text, or as the path of a file whose first word is one (a .pub
// file). Invalid when it is neither, saying what was expected.
Result<std::string> load_curve_public(std::string_view key_or_file);

struct AuthorizedKey {
  std::string public_key;  // Z85
  std::string name;        // ZAP User-Id of connections with this key
};

// Parses authorized-keys text; `source` names it in errors ("agents.keys:3: ..."). Invalid on
// a bad key, a missing name, or a key or name listed twice (a name must identify one key).
Result<std::vector<AuthorizedKey>> parse_authorized_keys(std::string_view text,
                                                         std::string_view source);

// parse_authorized_keys of a file. Unavailable when it cannot be read.
Result<std::vector<AuthorizedKey>> load_authorized_keys(const std::filesystem::path& path);

// What a connecting socket (agent, client) needs to talk CURVE to the broker. Empty
// server_key means plaintext.
struct CurveClientKeys {
  std::string server_key;  // the broker's public key, Z85
  CurveKeyPair own;        // this process's key pair
  bool enabled() const { return !server_key.empty(); }
};

// Sets curve_serverkey/publickey/secretkey on `socket`; call BEFORE connect. No-op when
// !keys.enabled(). Internal when libzmq refuses the options (no CURVE support).
Status apply_curve_client(zmq::socket_t& socket, const CurveClientKeys& keys);

// Makes `socket` a CURVE server with `secret` (Z85) in ZAP domain `domain`; call BEFORE bind.
// Internal when libzmq refuses the options.
Status apply_curve_server(zmq::socket_t& socket, const std::string& secret,
                          std::string_view domain);

// Reads --curve-secret FILE and --broker-key KEY|FILE (falling back to `env_broker_key`, the
// value of $CUBE_BROKER_KEY, when broker_key is empty) into client keys. Both empty: plaintext
// (disabled keys). Only one of them given: Invalid, saying the other is needed. Errors of the
// loaders otherwise.
Result<CurveClientKeys> curve_client_keys(std::string_view secret_file, std::string_view broker_key,
                                          std::string_view env_broker_key);

}  // namespace cube::protocol
