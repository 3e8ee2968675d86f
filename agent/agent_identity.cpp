#include "agent/agent_identity.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "common/ids.h"

namespace cube::agent {
namespace {

std::string trim(std::string s) {
  auto not_space = [](char c) { return c != ' ' && c != '\n' && c != '\r' && c != '\t'; };
  while (!s.empty() && !not_space(s.back()))
    s.pop_back();
  size_t start = 0;
  while (start < s.size() && !not_space(s[start]))
    ++start;
  return s.substr(start);
}

}  // namespace

Result<std::string> load_or_create_agent_id(const std::filesystem::path& data_dir) {
  const auto path = data_dir / kAgentIdFile;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    std::ifstream in(path);
    if (!in)
      return Status::internal("cannot read " + path.string() + ": " + std::strerror(errno));
    std::stringstream ss;
    ss << in.rdbuf();
    std::string id = trim(ss.str());
    if (!is_uuid(id)) {
      return Status::invalid(path.string() + " does not hold an agent id (a UUID); fix it or " +
                             "delete it to register as a new node");
    }
    return id;
  }
  if (ec)
    return Status::internal("cannot check " + path.string() + ": " + ec.message());

  std::string id = new_random_id();
  const auto tmp = data_dir / (std::string(kAgentIdFile) + ".tmp");
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out)
      return Status::internal("cannot write " + tmp.string() + ": " + std::strerror(errno));
    out << id << "\n";
    out.flush();
    if (!out)
      return Status::internal("cannot write " + tmp.string() + ": " + std::strerror(errno));
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    return Status::internal("cannot create " + path.string() + ": " + ec.message());
  return id;
}

}  // namespace cube::agent
