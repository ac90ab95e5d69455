/* Running programs: always an argv array (posix_spawn), never a shell string. */
#ifndef FLEET_PROCESS_H
#define FLEET_PROCESS_H

#include "fleet/buf.h"

/* Runs argv[0] (searched on PATH) with stdin from /dev/null, capturing stdout into out
 * (and stderr into err if not NULL; else it is inherited). *status gets the exit code,
 * or 128+signal. Returns -1 only if the program could not be started. */
int fl_run_capture(char *const argv[], struct fl_buf *out, struct fl_buf *err, int *status);
/* As fl_run_capture, with stdin fed from `input` (may be NULL) and a timeout in seconds
 * (0: none) after which the child is killed and FL_E_OS "timed out" returned. */
int fl_run_capture_ex(char *const argv[], const char *input, size_t input_len, int timeout_sec,
                      struct fl_buf *out, struct fl_buf *err, int *status);
/* Runs argv with the terminal (stdin/stdout/stderr inherited) and waits. */
int fl_run_interactive(char *const argv[], int *status);
/* Splits a command line on whitespace (no quoting, no expansion) into a NULL-terminated
 * argv; free with fl_argv_free. */
char **fl_argv_split(const char *cmd);
void fl_argv_free(char **argv);

#endif
