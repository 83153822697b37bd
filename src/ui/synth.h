/* synth.h: a synthetic ui_source: curves from formulas and a seeded RNG, advancing with the clock,
 * answering a few console-like commands. It exists to exercise the dashboard (tests, benchmarks,
 * `smartty demo --synthetic`) without a model; it trains nothing and says so in its header. */
#ifndef SMARTTY_UI_SYNTH_H
#define SMARTTY_UI_SYNTH_H

#include "ui/source.h"

typedef struct ui_synth ui_synth;

/* steps_per_s: how fast the signal advances while "running"; planned: steps of the run. */
ui_synth *ui_synth_new(double steps_per_s, int64_t planned, uint64_t seed);
void ui_synth_free(ui_synth *s);
/* A source over s (s must outlive it). */
void ui_synth_source(ui_synth *s, ui_source *out);

#endif
