// bonsai's entry point. Everything, including argument parsing, lives in cli/ so it can be tested.
#include "cli/cli.h"

int main(int argc, char** argv) { return bonsai::cli::run_main(argc, argv); }
