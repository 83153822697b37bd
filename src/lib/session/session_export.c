/* session_export.c: the session's history written as CSV (libcsv quoting), one row per step with
 * the dev fields where an evaluation ran, through a temporary file renamed into place. It reads
 * only the copies that observers get (sm_session_history, sm_session_evals). */
#include "smartty/session.h"
#include "lib/session/session_internal.h"

#include <csv.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int csv_put(FILE *f, const char *text, int first)
{
    if (!first && fputc(',', f) == EOF)
        return -1;
    if (strpbrk(text, ",\"\r\n ")) /* libcsv quotes (and doubles quotes) only where needed */
        return csv_fwrite(f, text, strlen(text));
    return fputs(text, f) == EOF ? -1 : 0;
}

sm_status sm_session_export_metrics(sm_session *s, const char *path, sm_error *e)
{
    sm_step_record *h;
    sm_eval_record *ev;
    size_t n = sm_session_history(s, &h), ne = sm_session_evals(s, &ev);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        free(h);
        free(ev);
        return sm_err(e, SM_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    size_t nf = sm_field_count();
    int bad = 0;
    for (size_t i = 0; i < nf; i++)
        bad |= csv_put(f, sm_field_at(i)->name, i == 0) < 0;
    bad |= csv_put(f, "branch", 0) < 0; /* the branch that trained the step (issue 15) */
    bad |= fputc('\n', f) == EOF;
    char (*line)[64] = malloc(BRANCH_MAX * sizeof *line);
    int64_t forks[BRANCH_MAX];
    size_t nl = line ? ses_branch_line(s, line, forks, BRANCH_MAX) : 0;
    size_t k = 0;
    for (size_t r = 0; r < n && !bad; r++) {
        /* the evaluation that ran right after this step, if any */
        const sm_eval_record *match = NULL;
        while (k < ne && ev[k].step < h[r].step)
            k++;
        if (k < ne && ev[k].step == h[r].step && (r + 1 == n || h[r + 1].step != h[r].step))
            match = &ev[k];
        for (size_t i = 0; i < nf; i++) {
            double v = sm_field_value((int)i, &h[r], match);
            char buf[40] = "";
            if (!isnan(v))
                snprintf(buf, sizeof buf, "%.9g", v);
            bad |= csv_put(f, buf, i == 0) < 0;
        }
        size_t b = 0;
        while (b + 1 < nl && h[r].step <= forks[b])
            b++;
        bad |= csv_put(f, nl ? line[b] : "", 0) < 0;
        bad |= fputc('\n', f) == EOF;
    }
    free(h);
    free(ev);
    free(line);
    if (fclose(f) != 0 || bad) {
        remove(tmp);
        return sm_err(e, SM_ERR_IO, "%s: write failed", path);
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return sm_err(e, SM_ERR_IO, "%s: cannot rename into place: %s", path, strerror(errno));
    }
    return SM_OK;
}
