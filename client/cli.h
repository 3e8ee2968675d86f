// The cube-client command line: argument parsing, the subcommands and their output. Kept apart
// from main() so tests can run it with their own streams, stdin and clock.
//
//   cube-client [--broker HOST:PORT[,HOST:PORT...]] [--timeout DURATION] COMMAND [ARGS]
//   commands: submit, run, list, events, get, stop, logs, nodes, status, service
//   (cube-client --help)
//
// The global options are settings (common/config_file.h): flags over CUBE_* variables over
// --config FILE, else ~/.config/cube/client.conf and /etc/cube/client.conf, over defaults.
//
// Thread-safety: run_cli reads the environment (CUBE_*, HOME, XDG_CONFIG_HOME), config files and
// the time zone; call it from one thread at a time.
#pragma once

#include <iosfwd>

#include "common/clock.h"

namespace cube {

// Exit codes, stable for scripts.
inline constexpr int kExitOk = 0;
inline constexpr int kExitBrokerError = 1;  // the broker answered with an error, or a task failed
inline constexpr int kExitUsage = 2;        // bad arguments or input; nothing was sent
inline constexpr int kExitUnreachable = 3;  // the broker did not answer within --timeout
// The broker refused the connection's CURVE handshake: no key, a key it does not list, or the
// wrong --broker-key. Retrying will not help; the message says what to change.
inline constexpr int kExitRefused = 4;

// Runs one cube-client invocation. `argv[0]` is the program name. Normal output goes to `out`,
// errors to `err` as "cube-client: ..." lines; `in` is read for `submit -f -`; `clock` gives
// ages, the request timeouts and the pacing of `--wait`. Returns one of the exit codes above.
// Blocks for at most --timeout per broker request (default 5 s) and, with `--wait`, until the
// task runs or ends or --wait-timeout passes. Never throws.
int run_cli(int argc, char** argv, std::ostream& out, std::ostream& err, std::istream& in,
            const Clock& clock);

// The same with std::cin and the system clock: what main() calls.
int run_cli(int argc, char** argv, std::ostream& out, std::ostream& err);

}  // namespace cube
