#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>

#include "support.hpp"

int main(int argc, char** argv) {
  std::cout << "trevor tests on " << trevor::to_string(trevor::test::test_engine()) << "\n";
  doctest::Context context;
  context.applyCommandLine(argc, argv);
  return context.run();
}
