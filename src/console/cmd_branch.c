/* cmd_branch.c: the console's commands on branches and exploration: `branches` (and `show
 * branches`), `checkout`, `branch`, `explore` with its table (`show explore`), `show snapshots`
 * with their bytes, `export compare` and `show compare` (the dashboard's view, through the host).
 * The branches themselves are the session's (src/lib/session/session_branch.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console/commands_internal.h"
#include "console/parse.h"
#include "smartty/session.h"

static void metric_text(const sm_hparams *hp, int has, const sm_eval_record *ev, char *buf, size_t cap)
{
    const char *name = "acc";
    double v = has ? sm_eval_main_metric(hp, ev, &name) : NAN;
    if (isnan(v))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%s %.4f", name, v);
}

int con_show_branches(con_ctx *c)
{
    NEED(branches, "branches");
    sm_branch_info *b;
    size_t n = c->be->branches(c->be_ud, &b);
    if (!b)
        return con_error(c, "branches: out of memory");
    con_print(c, "  %-22s %-16s %7s  %-24s %-14s %-14s %8s", "branch", "from", "steps", "knobs vs parent",
              "last dev", "best dev", "wall");
    for (size_t i = 0; i < n; i++) {
        char from[96], knobs[256], last[32], best[32];
        if (b[i].from[0])
            snprintf(from, sizeof from, "%s@%lld", b[i].from, (long long)b[i].fork_step);
        else
            snprintf(from, sizeof from, "-");
        sm_branch_knobs(&b[i].hp, &b[i].fork_hp, knobs, sizeof knobs);
        metric_text(&b[i].hp, b[i].has_eval, &b[i].eval, last, sizeof last);
        metric_text(&b[i].hp, b[i].has_best, &b[i].best, best, sizeof best);
        /* the tree's indent and mark, then the name whole, padded to the column (22) when it fits */
        int indent = 2 * b[i].depth, used = indent + (b[i].depth ? 2 : 0);
        con_print(c, "%s %*s%s%-*s %-16s %7lld  %-24s %-14s %-14s %7.1fs", b[i].active ? "*" : " ", indent, "",
                  b[i].depth ? "└ " : "", used < 22 ? 22 - used : 0, b[i].name, from, (long long)b[i].steps,
                  knobs[0] ? knobs : "-", last, best, b[i].wall_s);
    }
    free(b);
    return 0;
}

int con_cmd_branches(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return con_show_branches(c);
}

int con_cmd_checkout(con_ctx *c, int argc, char **argv)
{
    (void)argc;
    NEED(checkout, "checkout");
    char msg[512] = "";
    sm_error e;
    if (c->be->checkout(c->be_ud, argv[0], msg, sizeof msg, &e) != SM_OK)
        return con_cmd_failed(c, "checkout", e.msg);
    con_info(c, "%s", msg);
    return 0;
}

int con_cmd_branch(con_ctx *c, int argc, char **argv)
{
    if (argc == 0)
        return con_show_branches(c);
    NEED(branch_rename, "branch");
    sm_error e;
    if (c->be->branch_rename(c->be_ud, argv[0], &e) != SM_OK)
        return con_cmd_failed(c, "branch", e.msg);
    con_info(c, "the active branch is now named %s", argv[0]);
    return 0;
}

static int cmp_res(const void *a, const void *b)
{
    const sm_explore_result *x = a, *y = b;
    int nx = isnan(x->metric), ny = isnan(y->metric);
    if (nx || ny)
        return nx - ny;
    return x->metric < y->metric ? 1 : x->metric > y->metric ? -1 : 0;
}

int con_show_explore(con_ctx *c)
{
    NEED(explore_status, "explore");
    sm_explore_status *st = malloc(sizeof *st);
    if (!st)
        return con_error(c, "explore: out of memory");
    c->be->explore_status(c->be_ud, st);
    if (!st->total) {
        free(st);
        con_print(c, "no exploration yet (`explore PARAM=V1,V2 steps N`)");
        return 0;
    }
    con_print(c, "exploration: %d variant%s%s, sorted by dev %s", st->total, st->total == 1 ? "" : "s",
              st->active ? " (running)" : "", st->metric);
    qsort(st->res, (size_t)st->n, sizeof st->res[0], cmp_res);
    con_print(c, "  %-4s %-16s %-32s %-10s %10s %9s", "rank", "branch", "knobs", st->metric, "examples/s", "wall");
    for (int i = 0; i < st->n; i++) {
        const sm_explore_result *r = &st->res[i];
        char m[32];
        if (isnan(r->metric))
            snprintf(m, sizeof m, "%s", r->done ? "-" : "running");
        else
            snprintf(m, sizeof m, "%.4f", r->metric);
        con_print(c, "  %-4d %-16s %-32s %-10s %10.1f %8.1fs", i + 1, r->branch, r->knobs, m, r->examples_per_s,
                  r->wall_s);
    }
    double steps_s = 0;
    for (int i = 0; i < st->n; i++)
        steps_s += st->res[i].wall_s;
    if (!st->active && steps_s > 0)
        con_print(c, "beyond the steps: %.2f s (the snapshot, the rewinds, the last checkout), %+.1f %% of the "
                  "variants' %.1f s", st->switch_s, 100 * st->switch_s / steps_s, steps_s);
    if (!st->active && st->kept[0])
        con_print(c, "on branch %s", st->kept);
    free(st);
    return 0;
}

/* PARAM=V1,V2,... words, then steps N, from SNAPSHOT, keep best. */
static int parse_explore(con_ctx *c, int argc, char **argv, sm_explore_spec *sp)
{
    memset(sp, 0, sizeof *sp);
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        const char *eq = strchr(w, '=');
        if (!strcmp(w, "steps")) {
            long long n;
            char err[128];
            if (i + 1 >= argc)
                return con_error(c, "explore: `steps` needs a number: steps N");
            if (con_parse_long(argv[++i], 1, (long long)1 << 40, &n, err, sizeof err))
                return con_error(c, "explore: argument %d '%s': %s", i + 1, argv[i], err);
            sp->steps = n;
        } else if (!strcmp(w, "from")) {
            if (i + 1 >= argc)
                return con_error(c, "explore: `from` needs a snapshot name: from SNAPSHOT");
            if (strlen(argv[++i]) >= sizeof sp->from)
                return con_error(c, "explore: argument %d: a snapshot name is at most 63 characters", i + 1);
            snprintf(sp->from, sizeof sp->from, "%s", argv[i]);
        } else if (!strcmp(w, "keep")) {
            if (i + 1 >= argc || strcmp(argv[i + 1], "best"))
                return con_error(c, "explore: argument %d: `keep` is followed by `best`", i + 1);
            i++;
            sp->keep_best = 1;
        } else if (eq && eq != w) {
            if (sp->n_params == SM_EXPLORE_MAX_PARAMS)
                return con_error(c, "explore: argument %d '%s': at most %d parameters at once", i + 1, w,
                                 SM_EXPLORE_MAX_PARAMS);
            int p = sp->n_params++;
            if ((size_t)(eq - w) >= sizeof sp->names[p])
                return con_error(c, "explore: argument %d: the parameter name is too long", i + 1);
            snprintf(sp->names[p], sizeof sp->names[p], "%.*s", (int)(eq - w), w);
            const char *v = eq + 1;
            for (;;) {
                const char *comma = strchr(v, ',');
                size_t len = comma ? (size_t)(comma - v) : strlen(v);
                if (len == 0)
                    return con_error(c, "explore: argument %d '%s': an empty value (write PARAM=V1,V2,...)", i + 1, w);
                if (len >= sizeof sp->values[p][0])
                    return con_error(c, "explore: argument %d: value '%.*s' is too long", i + 1, (int)len, v);
                if (sp->n_values[p] == SM_EXPLORE_MAX_VALUES)
                    return con_error(c, "explore: argument %d: at most %d values per parameter", i + 1,
                                     SM_EXPLORE_MAX_VALUES);
                snprintf(sp->values[p][sp->n_values[p]++], sizeof sp->values[p][0], "%.*s", (int)len, v);
                if (!comma)
                    break;
                v = comma + 1;
            }
        } else {
            return con_error(c, "explore: argument %d '%s': expected PARAM=V1,V2,..., steps N, from SNAPSHOT or "
                                "keep best", i + 1, w);
        }
    }
    if (!sp->n_params)
        return con_error(c, "explore: no PARAM=V1,V2,... given (e.g. explore lambda_s=0,1,3 steps 20)");
    if (!sp->steps)
        return con_error(c, "explore: `steps N` is required (the steps each variant trains)");
    return 0;
}

int con_cmd_explore(con_ctx *c, int argc, char **argv)
{
    sm_explore_spec *sp = malloc(sizeof *sp);
    if (!sp)
        return con_error(c, "explore: out of memory");
    if (parse_explore(c, argc, argv, sp)) {
        free(sp);
        return 1;
    }
    if (!c->be || !c->be->explore || !c->be->explore_status) {
        free(sp);
        return con_error(c, "explore: " NO_SESSION);
    }
    char msg[512] = "";
    sm_error e;
    sm_status st = c->be->explore(c->be_ud, sp, msg, sizeof msg, &e);
    free(sp);
    if (st != SM_OK)
        return con_cmd_failed(c, "explore", e.msg);
    con_info(c, "%s%s", msg, c->set.train_wait ? "" : " (in the background: `pause`, `stop`, `show explore`)");
    if (!c->set.train_wait)
        return 0;
    for (;;) { /* between two variants the run is briefly not running: wait for the exploration itself */
        int w = con_wait_run(c, 0);
        if (w == 1 && !c->interactive)
            return con_error(c, "explore: interrupted (the run is paused; `resume` continues the exploration)");
        if (w)
            return 1;
        sm_explore_status *xs = malloc(sizeof *xs);
        if (!xs)
            return con_error(c, "explore: out of memory");
        c->be->explore_status(c->be_ud, xs);
        int active = xs->active;
        free(xs);
        con_status s;
        con_status_get(c, &s);
        if (!active)
            break;
        if (s.state == CON_RUN_PAUSED || s.state == CON_RUN_BREAK)
            return 0; /* paused, or at a breakpoint: the person decides */
        if (!con_is_running(&s))
            nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    return con_show_explore(c);
}

int con_show_snapshots(con_ctx *c)
{
    NEED(snapshots, "show snapshots");
    sm_snapshot_info *sn;
    size_t n = c->be->snapshots(c->be_ud, &sn);
    if (!sn)
        return con_error(c, "show snapshots: out of memory");
    size_t mem = 0, disk = 0;
    con_print(c, "  %-28s %8s %12s  %s", "snapshot", "step", "bytes", "where");
    for (size_t i = 0; i < n; i++) {
        con_print(c, "  %-28s %8lld %12zu  %s", sn[i].name, (long long)sn[i].step, sn[i].bytes,
                  sn[i].spilled ? sn[i].path : "memory");
        *(sn[i].spilled ? &disk : &mem) += sn[i].bytes;
    }
    char budget[32];
    if (c->set.snapshot_budget > 0)
        snprintf(budget, sizeof budget, "%g MiB", c->set.snapshot_budget);
    else
        snprintf(budget, sizeof budget, "no limit");
    con_print(c, "  %zu in memory: %.1f MiB (snapshot_budget: %s); on disk: %.1f MiB", n, mem / 1048576.0, budget,
              disk / 1048576.0);
    free(sn);
    return 0;
}

int con_export_compare(con_ctx *c, const char *path)
{
    NEED(export_compare, "export compare");
    sm_error e;
    if (c->be->export_compare(c->be_ud, path, &e) != SM_OK)
        return con_cmd_failed(c, "export", e.msg);
    con_info(c, "wrote the branches' comparison to %s", path);
    return 0;
}

int con_show_compare(con_ctx *c, int argc, char **argv)
{
    if (!c->host || !c->host->compare) {
        /* without the dashboard: the branches' curves are their records; show the table */
        con_print(c, "(the compare view is the dashboard's: `smartty` in a terminal, then `show compare` or F11; here, the table)");
        return con_show_branches(c);
    }
    sm_error e;
    if (c->host->compare(c->host_ud, argc, argv, &e) != SM_OK)
        return con_error(c, "show compare: %s", e.msg);
    return 0;
}
