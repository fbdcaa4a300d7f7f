#pragma once
// `trevord sdc check FILE --statbarn S [--output-type T] [--policy P]
//  [--project NAME] [--evidence E] [--justification TEXT]`: the built-in
// agent's SDC checks on a local file, for use inside the TRE before
// anything is uploaded. Prints the findings JSON the agent would record for
// the file (as the one object of a request) and exits with its decision.

#include <string>
#include <vector>

namespace trevord {

/// Exit statuses of `trevord sdc check`.
enum sdc_exit : int {
  sdc_approved = 0,           // every check passed
  sdc_escalated = 1,          // a critical check failed
  sdc_changes_requested = 2,  // a warning check failed, or a check needs a human
  sdc_could_not_check = 3,    // the file, its evidence or the policy could not be read
  sdc_usage = 64,             // the command line is wrong (EX_USAGE)
};

/// Runs `trevord sdc ARGS...` (`args` after "sdc"); the findings go to
/// stdout, problems to stderr. Returns the exit status.
int sdc_command(const std::vector<std::string>& args);

}  // namespace trevord
