/* pp_gen.h — `partnerpulse gen`: deterministic synthetic partner event streams.
 *
 * Writes N synthetic partners' deal, referral, engagement and lifecycle events as
 * JSON lines (the CLI's input format, docs/gen.md), sorted by occurred_at_ms.
 * Same options => byte-identical output.
 */
#ifndef PP_GEN_H
#define PP_GEN_H

/* Entry point of the `gen` subcommand; argv[0] is "gen".
 * Returns 0 on success, 1 on an I/O or resource error, 2 on a usage error. */
int pp_gen_main(int argc, char **argv);

#endif /* PP_GEN_H */
