#include "protocol/keygen_command.h"

#include <iostream>
#include <string>

#include "protocol/curve.h"

namespace cube::protocol {

bool is_keygen_command(int argc, char** argv) {
  return argc >= 2 && std::string_view(argv[1]) == "keygen";
}

int run_keygen(std::string_view program, std::string_view default_name, int argc, char** argv) {
  std::string out;
  std::string name(default_name);
  auto usage = [&](std::string_view problem) {
    if (!problem.empty())
      std::cerr << program << " keygen: " << problem << "\n";
    std::ostream& stream = problem.empty() ? std::cout : std::cerr;
    stream << "Usage: " << program << " keygen --out DIR [--name NAME]\n"
           << "Writes a CURVE key pair: DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub\n"
           << "(public key and name, one line: append it to the broker's authorized-keys file).\n"
           << "NAME defaults to \"" << default_name << "\".\n";
    return problem.empty() ? 0 : 2;
  };
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view flag, std::string& into) {
      if (arg.starts_with(std::string(flag) + "=")) {
        into = std::string(arg.substr(flag.size() + 1));
        return true;
      }
      if (arg == flag && i + 1 < argc) {
        into = argv[++i];
        return true;
      }
      return false;
    };
    if (arg == "--help" || arg == "-h")
      return usage("");
    if (value("--out", out) || value("--name", name))
      continue;
    return usage("unexpected argument \"" + std::string(arg) + "\"");
  }
  if (out.empty())
    return usage("--out DIR is required");
  auto keys = generate_curve_keypair();
  if (!keys.is_ok()) {
    std::cerr << program << " keygen: " << keys.status().message() << "\n";
    return 1;
  }
  Status written = write_curve_keypair(out, name, *keys);
  if (!written.is_ok()) {
    std::cerr << program << " keygen: " << written.message() << "\n";
    return written.code() == ErrorCode::Invalid ? 2 : 1;
  }
  std::filesystem::path dir(out);
  std::cout << "secret key: " << (dir / (name + ".key")).string() << " (keep it private)\n"
            << "public key: " << (dir / (name + ".pub")).string() << "\n"
            << keys->public_key << " " << name << "\n";
  return 0;
}

}  // namespace cube::protocol
