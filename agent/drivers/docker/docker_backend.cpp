#include "agent/drivers/docker/docker_backend.h"

#include <utility>

namespace cube::agent {

Result<DockerBackend> make_docker_backend(const DockerBackendOptions& options, const Clock& clock) {
  auto socket = resolve_docker_socket(options.docker_host);
  if (!socket)
    return socket.status();
  DockerClientOptions client_options;
  client_options.socket_path = std::move(socket).value();
  DockerBackend backend;
  backend.client = std::make_unique<DockerClient>(std::move(client_options));

  DockerDriverOptions driver_options;
  driver_options.node_id = options.node_id;
  driver_options.node_name = options.node_name;
  driver_options.publish_address = options.publish_address;
  driver_options.stop_grace = options.stop_grace;
  backend.driver = std::make_unique<DockerDriver>(*backend.client, driver_options, clock);
  return backend;
}

}  // namespace cube::agent
