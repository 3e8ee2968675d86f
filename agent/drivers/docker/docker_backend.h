// DockerBackend: what `cube-agent --driver docker` runs tasks with, the DockerClient (dockerd's
// socket) and the DockerDriver that talks through it, built and owned together because the
// driver keeps a reference to the client.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "agent/drivers/docker/docker_client.h"
#include "agent/drivers/docker/docker_driver.h"
#include "common/clock.h"
#include "common/status.h"

namespace cube::agent {

struct DockerBackendOptions {
  // --docker-host: "unix:///var/run/docker.sock" or a socket path; empty: $DOCKER_HOST, else
  // /var/run/docker.sock (resolve_docker_socket).
  std::string docker_host;
  std::string node_id;    // the agent's stable ID: the cube.node label of its containers
  std::string node_name;  // the agent's name: the cube.node-name label (display)
  std::string publish_address = "127.0.0.1";
  Millis stop_grace{10000};
};

struct DockerBackend {
  std::unique_ptr<DockerClient> client;
  std::unique_ptr<DockerDriver> driver;  // uses *client; destroyed first (declared last)
};

// Builds the client and the driver; makes no call to dockerd (it may start later: the agent
// checks it with Driver::check_backend). Invalid for a --docker-host/DOCKER_HOST Cube cannot
// use (tcp://, ssh://: "docker host \"tcp://...\" is not supported: Cube talks to dockerd over
// a unix socket ..."; prefixed "DOCKER_HOST: " when the value came from the environment).
// `clock` must outlive the result.
Result<DockerBackend> make_docker_backend(const DockerBackendOptions& options, const Clock& clock);

}  // namespace cube::agent
