/*
 * The daemon's logger (daemon/pp_log.c: `ts=... level=... msg="..."`
 * key=value lines on stderr), compiled into the CLI for `partnerpulse web`:
 * the partnerpulse target builds the .c files of tools/ and does not link pp_daemon, and
 * one logger means one log format for both processes.
 */
#include "../daemon/pp_log.c"
