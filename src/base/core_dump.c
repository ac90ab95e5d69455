#include "fleet/error.h"
#include "fleet/process.h"

#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

int fl_core_dumps_disable(void)
{
	int rc = 0;
	/* Everywhere: no core file, and children (an editor holding plaintext) inherit it. */
	struct rlimit none = {0, 0};
	if (setrlimit(RLIMIT_CORE, &none) < 0)
		rc = fl_error_set_os("cannot disable core dumps");
#ifdef __linux__
	/* Linux: no core even if the limit is raised again from outside (prlimit), or if
	 * core_pattern pipes cores to a handler; also keeps other processes of the user
	 * from attaching with ptrace or reading /proc/<pid>/mem. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 && rc == 0)
		rc = fl_error_set_os("cannot mark the process non-dumpable");
#endif
	return rc;
}
