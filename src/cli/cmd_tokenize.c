/* cmd_tokenize.c: `smartty tokenize`: the WordPiece ids (or tokens) of each line of standard input,
 * special tokens included; a tab separates the two texts of a pair. A thin shell over the library's
 * tokenizer: it parses options, reads lines and prints; it does no tokenizing of its own. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "smartty/tokenizer.h"

static void tokenize_usage(FILE *out)
{
    fprintf(out,
            "usage: smartty tokenize --tokenizer PATH [--cased] [--max-len N] [--tokens]\n"
            "\n"
            "Reads lines from standard input and prints, for each, the token ids of\n"
            "[CLS] text [SEP], or of [CLS] a [SEP] b [SEP] when a tab separates two texts\n"
            "(a byte-level BPE or a Unigram, RoBERTa's and XLM-R's: <s> text </s>, <s> a </s></s> b </s>).\n"
            "\n"
            "  --tokenizer PATH  (or --vocab) a vocab.txt, a tokenizer.json (WordPiece,\n"
            "                 byte-level BPE or Unigram), a vocab.json or merges.txt, or a model folder\n"
            "                 (with one of them, and tokenizer_config.json)\n"
            "  --cased        no lower-casing or accent stripping (default: the folder's\n"
            "                 tokenizer_config.json, else lower-case)\n"
            "  --max-len N    truncate to N ids, longest first for pairs (default: no limit)\n"
            "  --tokens       print the tokens instead of their ids\n"
            "  --help         this text\n");
}

/* The option's value: "--opt=value" or the next argument. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

static int is_option(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

static int print_ids(const sm_tokenizer *t, const sm_ids *ids, int tokens)
{
    for (size_t i = 0; i < ids->n; i++) {
        if (i)
            putchar(' ');
        if (tokens) {
            const char *tok = sm_tokenizer_token(t, ids->v[i]);
            fputs(tok ? tok : "?", stdout);
        } else {
            printf("%d", (int)ids->v[i]);
        }
    }
    return putchar('\n') == EOF ? -1 : 0;
}

int cli_tokenize(int argc, char **argv)
{
    const char *vocab = NULL;
    int lower = -1, tokens = 0, max_len = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            tokenize_usage(stdout);
            return 0;
        } else if (is_option(a, "--vocab") || is_option(a, "--tokenizer")) {
            const char *opt = is_option(a, "--vocab") ? "--vocab" : "--tokenizer";
            vocab = option_value(argc, argv, &i, opt);
            if (!vocab || !*vocab) {
                fprintf(stderr, "smartty tokenize: %s needs a path\n", opt);
                return 2;
            }
        } else if (!strcmp(a, "--cased")) {
            lower = 0;
        } else if (!strcmp(a, "--tokens")) {
            tokens = 1;
        } else if (is_option(a, "--max-len")) {
            const char *v = option_value(argc, argv, &i, "--max-len");
            char *end;
            errno = 0;
            long n = v ? strtol(v, &end, 10) : 0;
            if (!v || !*v || *end || errno || n < 0 || n > INT_MAX) {
                fprintf(stderr, "smartty tokenize: --max-len needs a whole number of ids (0: no limit, "
                                "else at least 3), got '%s'\n", v ? v : "");
                return 2;
            }
            if (n > 0 && n < 3) {
                fprintf(stderr, "smartty tokenize: --max-len %ld leaves no room for text between the "
                                "special tokens; use 0 (no limit) or at least 3\n", n);
                return 2;
            }
            max_len = (int)n;
        } else {
            fprintf(stderr, "smartty tokenize: unknown option '%s'\n", a);
            tokenize_usage(stderr);
            return 2;
        }
    }
    if (!vocab) {
        fprintf(stderr, "smartty tokenize: --tokenizer PATH (or --vocab PATH) is required\n");
        tokenize_usage(stderr);
        return 2;
    }

    sm_error e;
    sm_error_clear(&e);
    sm_tokenizer *t;
    if (sm_tokenizer_load(vocab, lower, &t, &e) != SM_OK) {
        fprintf(stderr, "smartty tokenize: %s\n", e.msg);
        return 1;
    }
    sm_ids ids = {0}, types = {0};
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    int rc = 0;
    while ((got = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        size_t n = (size_t)got;
        if (n && line[n - 1] == '\n')
            n--;
        if (n && line[n - 1] == '\r')
            n--;
        const char *tab = memchr(line, '\t', n);
        const char *b = NULL;
        size_t a_len = n, b_len = 0;
        if (tab) {
            a_len = (size_t)(tab - line);
            b = tab + 1;
            b_len = n - a_len - 1;
            if (memchr(b, '\t', b_len)) {
                fprintf(stderr, "smartty tokenize: stdin:%zu: more than one tab: a line holds one text, "
                                "or two texts separated by one tab\n", lineno);
                rc = 1;
                break;
            }
        }
        if (sm_tokenizer_encode_pair_n(t, line, a_len, b, b_len, max_len, &ids, &types, &e) != SM_OK) {
            fprintf(stderr, "smartty tokenize: stdin:%zu: %s\n", lineno, e.msg);
            rc = 1;
            break;
        }
        if (print_ids(t, &ids, tokens) != 0) {
            fprintf(stderr, "smartty tokenize: cannot write the output: %s\n", strerror(errno));
            rc = 1;
            break;
        }
    }
    if (rc == 0 && ferror(stdin)) {
        fprintf(stderr, "smartty tokenize: cannot read standard input: %s\n", strerror(errno));
        rc = 1;
    }
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "smartty tokenize: cannot write the output: %s\n", strerror(errno));
        rc = 1;
    }
    free(line);
    sm_ids_free(&ids);
    sm_ids_free(&types);
    sm_tokenizer_free(t);
    return rc;
}
