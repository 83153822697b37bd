/* checkpoint_internal.h: what checkpoint.c (the state's files, the save's steps, reading back)
 * and checkpoint_dir.c (the folders a save creates and removes) share. Not part of the public API. */
#ifndef SMARTTY_CHECKPOINT_INTERNAL_H
#define SMARTTY_CHECKPOINT_INTERNAL_H

#include <stddef.h>

#include "smartty/common.h"

#define OLD_SUFFIX ".smartty-old" /* where the fallback save puts DIR aside (the loader looks there) */

/* Remove the folder name of pfd when smartty made it: the files it wrote, then the folder. legacy:
 * a checkpoint without a marker may go too (known names only). where names it in messages. Never
 * follows a link; leaves anything that is not ours. */
sm_status ckpt_remove_ours(int pfd, const char *name, int legacy, const char *where, sm_error *e);
/* Open the folder name of pfd without following a link: a real folder of this user, or -1 with
 * errno set (ENOTDIR, ELOOP, EPERM for another owner). */
int ckpt_open_own_dir(int pfd, const char *name);
/* Write the marker into folder dfd: "writing", or (complete) with the folder's files listed. */
sm_status ckpt_write_marker(int dfd, int complete, const char *where, sm_error *e);
/* fsync every file of folder dfd (not following links) and the folder. */
sm_status ckpt_fsync_dir(int dfd, const char *where, sm_error *e);
/* Remove the temporary folders saves left behind: of dead processes, and of this destination. */
void ckpt_remove_stale_tmp(int pfd, const char *base, const char *parent);
/* Take the lock of destination base in pfd; returns the descriptor (closing it releases the
 * lock) or -1 with e filled. */
int ckpt_take_lock(int pfd, const char *base, const char *dir, const char *parent, sm_error *e);
/* Make the private temporary folder for base in pfd; its name into out. 0, or -1 with errno. */
int ckpt_make_tmp(int pfd, const char *base, char *out, size_t cap);
/* Check what is at base in pfd before anything is written: nothing, an empty folder, or a smartty
 * checkpoint holding only what smartty wrote. *exists is set. */
sm_status ckpt_check_dest(int pfd, const char *base, const char *dir, int *exists, sm_error *e);
/* Exchange a and b of pfd in one step (renameat2 RENAME_EXCHANGE); -1 with errno EINVAL where the
 * file system (or sm_checkpoint_set_exchange(0)) says no. */
int ckpt_exchange(int pfd, const char *a, const char *b);

#endif
