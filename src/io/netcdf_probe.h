// Private to io: opening netCDF files that may be hostile (src/io/netcdf_probe.cpp).
#pragma once

#include <functional>
#include <string>

namespace sarseg::io::detail {

// Debian's libhdf5 1.10 crashes (SEGV) inside nc_open on some corrupted netCDF-4 files, before
// any check of sarseg's can run (fuzz/library-findings/); whether it does depends on the heap's
// contents, so a file that fails cleanly once may crash the next time. So a file is first opened
// by `open_file` (which returns a netCDF status and sets the id) in a child process, and
// everything the schema checks touch is walked there. A crash or a hang in the child is a
// UserError naming `name` as damaged. Otherwise the status of the child's open is returned: the
// caller refuses a file that did not open with its own message, without opening it itself, and
// opens one that did. NC_NOERR too where no child can be started. Callers hold the netCDF lock.
int check_netcdf_in_child(const std::function<int(int*)>& open_file, const std::string& name);

}  // namespace sarseg::io::detail
