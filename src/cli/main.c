/* main.c: the smartty program's entry point: picks a subcommand from the table below. With no
 * subcommand, or with an option first (-x FILE, -c CMDS...), the console starts (src/console). */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "server/server.h"

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} cli_command;

static const cli_command commands[] = {
    {"console", cli_console, "the interactive console (also with no command, or -x FILE / -c CMDS)"},
    {"eval", cli_eval, "evaluate a model on a labelled data file: metrics, per-class report, confusion matrix"},
    {"predict", cli_predict, "run a model over a data file and print label names and probabilities (or logits)"},
    {"demo", cli_demo, "the dashboard over a small model trained on the generated demo data"},
    {"gen-demo", cli_gen_demo, "write the built-in demo's small data sets and vocabulary"},
    {"tokenize", cli_tokenize, "print the WordPiece ids (or tokens) of lines read from standard input"},
    {"data", cli_data, "load a TSV/CSV data file and report rows, labels, lengths and bad rows"},
    {"train", cli_train, "fine-tune a model with SMART (or vanilla) and save a checkpoint"},
    {"serve", sv_serve_main, "start a run server detached from the terminal (attach, watch, ctl, ls reach it)"},
    {"attach", sv_attach_main, "open the console on a running server (the dashboard in a terminal)"},
    {"watch", sv_watch_main, "follow a running server: plain timestamped lines, read-only"},
    {"ctl", sv_ctl_main, "send commands to a running server and print their replies"},
    {"ls", sv_ls_main, "list the run servers (removes the sockets of servers that are gone)"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: smartty COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n`smartty COMMAND --help` describes a command's options.\n");
}

int main(int argc, char **argv)
{
    /* The terminal's character set for readline, curses and messages; numbers stay in the C locale
     * (a '.' in every file, command and message, as the parsers expect). */
    setlocale(LC_CTYPE, "");
    if (argc < 2 || (argv[1][0] == '-' && strcmp(argv[1], "-h") && strcmp(argv[1], "--help") &&
                     strcmp(argv[1], "--version")))
        return cli_console(argc, argv); /* smartty [-x FILE] [-c CMDS] [--plain]...: the console */
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("%s\n", PACKAGE_STRING);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "smartty: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
