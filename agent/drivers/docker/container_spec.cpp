#include "agent/drivers/docker/container_spec.h"

#include <charconv>
#include <cmath>

namespace cube::agent {

using nlohmann::json;

std::string container_name_for(const Task& task) {
  // Long enough to recognise the task in `docker ps`, short enough to keep names readable.
  constexpr size_t kMaxNameChars = 40;
  std::string name;
  for (char c : task.name) {
    if (name.size() == kMaxNameChars)
      break;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    name.push_back(ok ? c : '-');
  }
  if (name.empty())
    name = "task";
  // The short ID is the ID's last 12 digits, like Docker's short IDs: in a UUIDv7 those are
  // random (the leading ones are a timestamp, shared by tasks submitted together).
  constexpr size_t kShortIdChars = 12;
  std::string short_id =
      task.id.size() > kShortIdChars ? task.id.substr(task.id.size() - kShortIdChars) : task.id;
  return "cube-" + name + "-" + short_id;
}

Result<std::string> normalize_port(std::string_view port) {
  std::string_view number = port;
  std::string_view protocol = "tcp";
  if (auto slash = port.find('/'); slash != std::string_view::npos) {
    number = port.substr(0, slash);
    protocol = port.substr(slash + 1);
  }
  int value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size() || value < 1 ||
      value > 65535) {
    return Status::invalid("exposed port \"" + std::string(port) +
                           "\": the port must be a number from 1 to 65535 (\"8080/tcp\")");
  }
  if (protocol != "tcp" && protocol != "udp" && protocol != "sctp") {
    return Status::invalid("exposed port \"" + std::string(port) +
                           "\": the protocol must be tcp, udp or sctp");
  }
  return std::to_string(value) + "/" + std::string(protocol);
}

Result<nlohmann::json> container_config_for(const Task& task, const ContainerSpecOptions& options) {
  if (task.image.empty())
    return Status::invalid("task " + task.id + " has no Image: the docker driver needs one");

  bool wants_privileged = false;
  if (auto it = task.labels.find(std::string(kLabelPrivileged)); it != task.labels.end())
    wants_privileged = it->second == "true";
  if (wants_privileged && !options.allow_privileged) {
    return Status::invalid("task " + task.id +
                           " asks for a privileged container (label cube.privileged=true) but "
                           "this agent does not allow privileged containers");
  }

  json labels = json::object();
  for (const auto& [key, value] : task.labels)
    labels[key] = value;
  labels[std::string(kLabelTask)] = task.id;
  labels[std::string(kLabelNode)] = options.node_id;
  labels[std::string(kLabelAttempt)] = std::to_string(task.attempt);
  if (!options.node_name.empty())
    labels[std::string(kLabelNodeName)] = options.node_name;

  json exposed = json::object();
  json bindings = json::object();
  for (const std::string& raw : task.exposed_ports) {
    auto port = normalize_port(raw);
    if (!port)
      return port.status();
    exposed[*port] = json::object();
    bindings[*port] = json::array({{{"HostIp", options.publish_address}, {"HostPort", ""}}});
  }

  json host = {
      {"SecurityOpt", json::array({"no-new-privileges"})},
      {"Init", true},
      {"Privileged", wants_privileged},
      {"PortBindings", bindings},
      {"RestartPolicy", {{"Name", "no"}}},
  };
  if (task.memory_bytes > 0)
    host["Memory"] = task.memory_bytes;
  if (task.cpu > 0)
    host["NanoCpus"] = static_cast<int64_t>(std::llround(task.cpu * 1e9));
  if (options.pids_limit > 0)
    host["PidsLimit"] = options.pids_limit;

  json config = {
      {"Image", task.image},
      {"Env", task.env},
      {"Labels", labels},
      {"ExposedPorts", exposed},
      {"HostConfig", host},
      // No TTY: logs stay multiplexed (stdout and stderr apart), which docker_stream.h reads.
      {"Tty", false},
      {"OpenStdin", false},
  };
  if (!task.cmd.empty())
    config["Cmd"] = task.cmd;
  return config;
}

}  // namespace cube::agent
