/* checkpoint.h: smartty checkpoints. A checkpoint folder is, at its top level, a Hugging Face model
 * folder (config.json with id2label, model.safetensors with transformers' names, vocab.txt,
 * tokenizer_config.json, written by the session's backend), plus the training state beside it:
 *   trainer_state.json         format tag, step, epoch, hyperparameters, the backend's counters,
 *                              random generators, data position, label mapping, tokenizer settings;
 *   trainer_state.safetensors  the arrays the model file does not hold (teacher, Adam moments);
 *   journal.jsonl              the session's journal (journal.h).
 * Saving is atomic and touches only what smartty made (README "Checkpoint folders" has the whole
 * protocol): the destination is locked (flock on .BASE.smartty-lock beside it, naming the holder's
 * pid); everything is written into a fresh BASE.smartty-tmp-PID-N folder (mode 0700, holding the
 * marker .smartty-checkpoint that lists the files written), flushed, then exchanged with DIR in one
 * step (renameat2 RENAME_EXCHANGE; where the file system refuses, DIR is renamed to
 * DIR.smartty-old first, which the loader takes when DIR is missing) and the previous checkpoint
 * removed, file by file as its marker lists them, through a folder descriptor that follows no link.
 * DIR itself may not be a symbolic link (the save refuses it); a folder holding files smartty did
 * not write is never replaced. */
#ifndef SMARTTY_CHECKPOINT_H
#define SMARTTY_CHECKPOINT_H

#include <stddef.h>

#include "smartty/capture.h"
#include "smartty/common.h"

#define SM_CKPT_STATE_JSON "trainer_state.json"
#define SM_CKPT_STATE_TENSORS "trainer_state.safetensors"
#define SM_CKPT_JOURNAL "journal.jsonl"
#define SM_CKPT_FORMAT "smartty-checkpoint"
#define SM_CKPT_VERSION 1

typedef enum sm_ckpt_kind {
    SM_CKPT_NONE = 0, /* no model there */
    SM_CKPT_HF,       /* a plain Hugging Face model folder (config.json, no training state) */
    SM_CKPT_SMARTTY   /* a smartty checkpoint */
} sm_ckpt_kind;

/* Which folder to load for dir: dir itself, or (dir missing) dir.smartty-old, or an older smartty's
 * dir.old, when a save crashed between the fallback's two renames.
 * Writes the folder into out[cap] and returns its kind. */
sm_ckpt_kind sm_checkpoint_resolve(const char *dir, char *out, size_t cap);
/* Remove a smartty checkpoint folder (its files, then the folder); anything else is refused. */
sm_status sm_checkpoint_remove(const char *dir, sm_error *e);

/* Write a captured state (the session's, taken for its SAVE command on the trainer thread: state,
 * arrays in place, history, best evaluation, journal and model writer) to dir atomically (see
 * above). An existing dir is replaced only when it is a smartty checkpoint or empty; anything else
 * is an error naming it. */
sm_status sm_checkpoint_save(const sm_capture *c, const char *dir, sm_error *e);

/* Read the checkpoint in dir (already resolved) into c (initialised here; free it): the state JSON
 * (without the log_history, which goes to steps and evals, has_history set when there is one) and
 * the journal. The arrays come after the state is applied: sm_checkpoint_read_tensors. Restoring
 * is the session's (sm_session_restore_checkpoint). */
sm_status sm_checkpoint_read(const char *dir, sm_capture *c, sm_error *e);
/* Fill c's arrays in place (those not in_model; names and sizes are the backend's, as prepared by
 * the applied state) from dir's trainer_state.safetensors. A missing or non-finite one is an error. */
sm_status sm_checkpoint_read_tensors(const char *dir, const sm_capture *c, sm_error *e);

/* The "backend" object of trainer_state.json as JSON text (caller frees), for a backend to learn
 * what it needs before the session exists (data files, options, tokenizer settings). */
sm_status sm_checkpoint_backend_json(const char *dir, char **json, sm_error *e);

/* Testing: a hook called at each stage of a save ("begin", "model", "state", "tensors",
 * "journal", "synced", ["aside" without exchange,] "exchanged", "renamed", "done"); a test may kill
 * the process there. NULL: none. */
void sm_checkpoint_set_stage_hook(void (*fn)(const char *stage));

/* Testing: 0 saves as on a file system without RENAME_EXCHANGE (the two-rename fallback). */
void sm_checkpoint_set_exchange(int on);

#endif
