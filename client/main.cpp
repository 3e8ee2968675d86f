// cube-client: the command-line client of a Cube broker. Everything happens in run_cli
// (client/cli.h) so that tests can run the same code.
#include <iostream>

#include "client/cli.h"

int main(int argc, char** argv) {
  return cube::run_cli(argc, argv, std::cout, std::cerr);
}
