// The `keygen` subcommand shared by cube-broker, cube-agent and cube-client:
//   <program> keygen --out DIR [--name NAME]
// writes a fresh CURVE key pair to DIR/NAME.key (secret, 0600) and DIR/NAME.pub (protocol/curve.h)
// and prints where they went and the public key.
//
// Thread-safety: call from main() before any thread exists (it writes to stdout/stderr).
#pragma once

#include <string_view>

namespace cube::protocol {

// True when argv[1] is "keygen": main() then returns run_keygen(...) instead of its own parsing.
bool is_keygen_command(int argc, char** argv);

// Runs `keygen` with the arguments after "keygen" (argv[2..]). `default_name` is NAME when
// --name is not given ("broker", the host name for agents, "client"). Returns the exit code:
// 0 written, 1 the files exist or cannot be written, 2 usage error. Blocks on file I/O.
int run_keygen(std::string_view program, std::string_view default_name, int argc, char** argv);

}  // namespace cube::protocol
