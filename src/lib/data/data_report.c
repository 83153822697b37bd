/* data_report.c: a dataset's loading report as text, one fact per line (what was read, the layout,
 * skipped rows, labels or targets, token lengths), never cut short. The facts themselves are
 * gathered by the reader (data_read.c) and the dataset (data.c). */
#include "smartty/data.h"
#include "lib/data/data_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the report as text ---- */

sm_status sm_data_report_append(const sm_dataset *ds, sm_str *out, sm_error *e)
{
    const sm_data_report *r = &ds->rep;
    sm_str *b = out;
    sm_str_appendf(b, "%s: %zu rows", r->path, r->rows);
    if (r->sampled)
        sm_str_appendf(b, " (a random sample of %zu read)", r->rows_read);
    if (r->limited)
        sm_str_appendf(b, " (stopped by --limit)");
    sm_str_appendf(b, "\n  format: %s-delimited, quoting %s%s, %s", r->delimiter == ',' ? "comma" : "tab",
              sm_quote_name(r->quote), r->quote_by_ext ? " (by extension)" : "",
              r->header ? "header row" : "no header");
    if (r->bom)
        sm_str_appendf(b, ", UTF-8 BOM stripped");
    if (r->crlf)
        sm_str_appendf(b, ", CRLF line ends");
    if (r->blank_lines)
        sm_str_appendf(b, ", %zu blank line%s ignored", r->blank_lines, r->blank_lines == 1 ? "" : "s");
    sm_str_appendf(b, "\n  columns: text %d%s%s%s", r->text_col, r->text_name[0] ? " (" : "", r->text_name,
              r->text_name[0] ? ")" : "");
    if (r->pair_col)
        sm_str_appendf(b, ", text-pair %d%s%s%s", r->pair_col, r->pair_name[0] ? " (" : "", r->pair_name,
                  r->pair_name[0] ? ")" : "");
    if (r->label_col)
        sm_str_appendf(b, ", %s %d%s%s%s", ds->regression ? "target" : "label", r->label_col,
                  r->label_name[0] ? " (" : "", r->label_name, r->label_name[0] ? ")" : "");
    else
        sm_str_appendf(b, ", no label");
    sm_str_appendf(b, "\n");
    if (ds->regression)
        sm_str_appendf(b, "  targets: min %.4g, max %.4g, mean %.4g\n", r->target_min, r->target_max, r->target_mean);
    else if (ds->n_labels) {
        sm_str_appendf(b, "  labels (%d):", ds->n_labels);
        int shown = ds->n_labels > SM_DATA_REPORT_LABELS ? SM_DATA_REPORT_LABELS : ds->n_labels;
        for (int k = 0; k < shown; k++)
            sm_str_appendf(b, "%s %s %zu (%.1f%%)", k ? "," : "", ds->label_names[k], ds->label_counts[k],
                      r->rows ? 100.0 * (double)ds->label_counts[k] / (double)r->rows : 0.0);
        if (shown < ds->n_labels)
            sm_str_appendf(b, ", ... and %d more", ds->n_labels - shown);
        sm_str_appendf(b, "\n");
    }
    if (r->tokenized)
        sm_str_appendf(b, "  tokens: p50 %d, p90 %d, p95 %d, p99 %d, max %d; %zu row%s over --max-len %d truncated\n",
                  r->len_p50, r->len_p90, r->len_p95, r->len_p99, r->len_max, r->truncated,
                  r->truncated == 1 ? "" : "s", r->max_len);
    if (r->skipped) {
        sm_str_appendf(b, "  skipped %zu bad row%s%s:\n", r->skipped, r->skipped == 1 ? "" : "s",
                  r->skipped > (size_t)r->n_bad ? ", the first" : "");
        for (int k = 0; k < r->n_bad; k++)
            sm_str_appendf(b, "    %s\n", r->bad[k]);
    }
    return sm_str_status(b, e, "the data report");
}

size_t sm_data_report_format(const sm_dataset *ds, char *buf, size_t cap)
{
    sm_str b = SM_STR_INIT;
    size_t n = sm_data_report_append(ds, &b, NULL) == SM_OK ? b.len : 0;
    if (cap)
        snprintf(buf, cap, "%s", n ? b.p : "");
    sm_str_free(&b);
    return n;
}
