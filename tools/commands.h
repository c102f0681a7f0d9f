/*
 * commands.h - the subcommands of trialctl. Each takes the arguments after
 * the subcommand name (argv[0] is the subcommand) and returns the process
 * exit code (see tools/trialctl.c for the table of exit codes).
 */
#ifndef TRIALREG_TOOLS_COMMANDS_H
#define TRIALREG_TOOLS_COMMANDS_H

/* Exit codes shared by every subcommand. */
enum {
    TC_EXIT_OK = 0,    /* success */
    TC_EXIT_FAIL = 1,   /* the operation ran and found a problem (audit failure, bad proof) */
    TC_EXIT_USAGE = 2,   /* bad command line */
    TC_EXIT_INPUT = 3,   /* an input file is missing, unreadable or malformed */
    TC_EXIT_INTERNAL = 4,  /* an internal or environment error (I/O, database) */
};

/* consent-vm tools (tools/cmd_vm.c) */
int cmd_asm(int argc, char **argv);
int cmd_disasm(int argc, char **argv);
int cmd_vm_run(int argc, char **argv);
int cmd_bench_vm(int argc, char **argv);

#endif
