/* new_model.c: the `new model` options and folder (see new_model.h). It loads nothing and prints
 * nothing. */
#include "console/new_model.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/console.h"


sm_status con_new_model_parse(con_new_model *a, int argc, char *const *argv, sm_error *e)
{
    static const struct { const char *name; int min, max; } ints[] = {
        {"layers", 1, 48}, {"hidden", 8, 4096}, {"heads", 1, 64}, {"intermediate", 0, 16384},
        {"num_labels", 1, 1000}, {"max_position", 8, 8192}, {"seed", 0, 2147483647},
    };
    enum { N_INTS = sizeof ints / sizeof ints[0] };
    memset(a, 0, sizeof *a);
    sm_random_model_opts_default(&a->o);
    int v[N_INTS] = {a->o.layers, a->o.hidden, a->o.heads, a->o.intermediate, a->o.num_labels,
                     a->o.max_position, (int)a->o.seed};
    const char *vocab = NULL, *labels = NULL;
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        size_t n = eq ? (size_t)(eq - argv[i]) : 0;
        int found = 0;
        if (eq && n == 5 && !strncmp(argv[i], "vocab", 5)) {
            vocab = eq + 1;
            continue;
        }
        if (eq && n == 6 && !strncmp(argv[i], "labels", 6)) {
            labels = eq + 1;
            continue;
        }
        for (int k = 0; k < N_INTS && eq; k++) {
            if (strlen(ints[k].name) != n || strncmp(argv[i], ints[k].name, n))
                continue;
            char *end;
            long x = strtol(eq + 1, &end, 10);
            if (!eq[1] || *end || x < ints[k].min || x > ints[k].max)
                return sm_err(e, SM_ERR_RANGE, "option %d '%s': %s must be an integer in [%d, %d]", i + 1,
                              argv[i], ints[k].name, ints[k].min, ints[k].max);
            v[k] = (int)x;
            found = 1;
        }
        if (!found)
            return sm_err(e, SM_ERR_INVALID, "option %d '%s' is not one of layers, hidden, heads, intermediate, "
                          "num_labels, max_position, seed (=N), labels=A,B,... or vocab=FILE", i + 1, argv[i]);
    }
    if (!vocab)
        return sm_err(e, SM_ERR_INVALID, "vocab=FILE is needed (a vocab.txt, e.g. datasets/vocab.txt)");
    if (v[1] % v[2])
        return sm_err(e, SM_ERR_INVALID, "hidden (%d) must be a multiple of heads (%d)", v[1], v[2]);
    if (!realpath(vocab, a->vocab)) /* the journal names it wherever the replay runs from */
        return sm_err(e, SM_ERR_IO, "vocab=%s: %s", vocab, strerror(errno));
    a->o.layers = v[0];
    a->o.hidden = v[1];
    a->o.heads = v[2];
    a->o.intermediate = v[3];
    a->o.num_labels = v[4];
    a->o.max_position = v[5];
    a->o.seed = (uint64_t)v[6];
    if (labels) { /* labels=A,B,... or 0..num_labels-1 (as data files usually write them) */
        if (strlen(labels) >= sizeof a->namebuf)
            return sm_err(e, SM_ERR_RANGE, "labels=: the list is longer than %zu bytes", sizeof a->namebuf - 1);
        snprintf(a->namebuf, sizeof a->namebuf, "%s", labels);
        int nl = 0;
        for (char *sv = NULL, *w = strtok_r(a->namebuf, ",", &sv); w; w = strtok_r(NULL, ",", &sv)) {
            if (nl == 1000)
                return sm_err(e, SM_ERR_RANGE, "labels=: more than 1000 classes");
            a->names[nl++] = w;
        }
        if (nl == 0) /* else reported as "num_labels 0 is out of range", an option not given */
            return sm_err(e, SM_ERR_INVALID, "labels='%s' names no class: give the names separated by commas, "
                          "e.g. labels=neg,pos", labels);
        a->o.num_labels = nl;
        a->o.labels = a->names;
    }
    for (int k = 0; k < N_INTS; k++)
        snprintf(a->canon[a->argc++], sizeof a->canon[0], "%s=%d", ints[k].name,
                 k == 4 ? a->o.num_labels : v[k]);
    snprintf(a->canon[a->argc++], sizeof a->canon[0], "vocab=%s", a->vocab);
    if (labels)
        snprintf(a->canon[a->argc++], sizeof a->canon[0], "labels=%s", labels);
    for (int k = 0; k < a->argc; k++)
        a->argv[k] = a->canon[k];
    return SM_OK;
}

/* Write the model of a into the state directory, in a folder named after its canonical options
 * (the same options: the same folder and the same bytes). */
sm_status con_new_model_write(const con_new_model *a, char *dir, size_t cap, sm_error *e)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a of the options */
    for (int k = 0; k < a->argc; k++)
        for (const char *p = a->argv[k]; ; p++) {
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
            if (!*p)
                break;
        }
    char name[64];
    snprintf(name, sizeof name, "new-model-%016llx", (unsigned long long)h);
    if (!con_state_path(dir, cap, name, 1))
        return sm_err(e, SM_ERR_RANGE, "the state directory's path is too long");
    return sm_hf_write_random(dir, a->vocab, &a->o, e);
}

