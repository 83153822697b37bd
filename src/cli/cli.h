/* cli.h: the subcommands of the smartty program. Each takes the arguments after its name and returns
 * the exit status: 0 success, 1 failure, 2 usage error. */
#ifndef SMARTTY_CLI_H
#define SMARTTY_CLI_H

int cli_console(int argc, char **argv);
int cli_predict(int argc, char **argv);
int cli_tokenize(int argc, char **argv);
int cli_gen_demo(int argc, char **argv);
int cli_demo(int argc, char **argv);
int cli_data(int argc, char **argv);
int cli_train(int argc, char **argv);
int cli_eval(int argc, char **argv);

#endif
